/**
 * The tempmail JSON API (/api/v1), and what its errors mean in words.
 * The bearer token travels only in the Authorization header, never in a URL.
 */

const BASE = "/api/v1";

/** An answer from the API that was not a success, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, code, serverMessage, retryAfterSeconds = null) {
    super(serverMessage || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** True when the inbox (or its token) no longer exists: expired, deleted, or the server forgot it. */
  get inboxGone() {
    return this.status === 401 || this.status === 404;
  }
}

/**
 * Words for a person. `subject` names what was being done, e.g. "open the message".
 * Status codes are not shown; the server's own message is, for request errors only.
 */
export function describeError(error, subject = "do that") {
  if (!(error instanceof ApiError)) return `Something went wrong while trying to ${subject}. Please try again.`;
  const { status } = error;
  if (status === 0) return `Could not reach the server to ${subject}. Check your connection; the page keeps trying.`;
  if (status === 401) return "This inbox's access key is no longer accepted. The inbox has probably expired or been deleted.";
  if (status === 404) return `Could not ${subject}: it no longer exists. Messages vanish when they are deleted or when the inbox expires.`;
  if (status === 429) {
    const wait = error.retryAfterSeconds;
    const when = wait ? `in ${wait < 90 ? `${wait} seconds` : `${Math.ceil(wait / 60)} minutes`}` : "in a little while";
    return `Too many requests from this address. Please wait and try again ${when}.`;
  }
  if (status === 413) return `Could not ${subject}: the server says it is too large.`;
  if (status === 503) return `Mail storage is temporarily unavailable, so the server could not ${subject}. Please try again in a minute.`;
  if (status >= 500) return `The server ran into a problem while trying to ${subject}. Please try again in a moment.`;
  const detail = error.serverMessage ? ` The server said: “${error.serverMessage}”` : "";
  return `Could not ${subject}.${detail}`;
}

function retryAfter(response) {
  const header = response.headers.get("Retry-After");
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Turn a non-2xx response into an ApiError, reading the JSON error body when there is one. */
export async function errorFrom(response) {
  let code = null;
  let message = null;
  try {
    const body = await response.json();
    code = typeof body.error === "string" ? body.error : null;
    message = typeof body.message === "string" ? body.message : null;
  } catch {
    // Not JSON (a proxy's error page, say): the status alone has to do.
  }
  return new ApiError(response.status, code, message, retryAfter(response));
}

/**
 * The server's clock, estimated from the Date header of API responses, so that a
 * countdown on a machine whose clock is off still ends when the server expires the inbox.
 */
export const serverClock = {
  offset: 0,
  now() {
    return Date.now() + this.offset;
  },
  observe(response, sentAt) {
    const header = Date.parse(response.headers.get("Date") ?? "");
    if (Number.isNaN(header)) return;
    // Date has one-second resolution; +500 ms centres the estimate, and small differences are noise.
    const offset = header + 500 - (sentAt + Date.now()) / 2;
    this.offset = Math.abs(offset) > 3000 ? offset : 0;
  },
};

/**
 * fetch() an API path. Returns the Response on 2xx, throws ApiError otherwise
 * (status 0 when the network failed). AbortError passes through unchanged.
 */
export async function call(path, { token, method = "GET", body, signal, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", error.message);
  }
  serverClock.observe(response, sentAt);
  if (!response.ok) throw await errorFrom(response);
  return response;
}

async function json(path, options) {
  const response = await call(path, options);
  return response.json();
}

const enc = encodeURIComponent;

/** The REST calls, each taking the inbox credentials it needs. */
export const api = {
  createInbox: (options = {}) => json("/inboxes", { method: "POST", body: options }),
  listDomains: (signal) => json("/domains", { signal }),
  getInbox: ({ inbox_id, token }, signal) => json(`/inboxes/${enc(inbox_id)}`, { token, signal }),
  /** Make the inbox end `ttlHours` from now; the server caps it and answers with the new expires_at. */
  extendInbox: ({ inbox_id, token }, ttlHours) =>
    json(`/inboxes/${enc(inbox_id)}`, { token, method: "PATCH", body: { ttl_hours: ttlHours } }),
  deleteInbox: ({ inbox_id, token }) => json(`/inboxes/${enc(inbox_id)}`, { token, method: "DELETE" }),
  listMessages: ({ inbox_id, token }, signal) => json(`/inboxes/${enc(inbox_id)}/messages`, { token, signal }),
  getMessage: ({ token }, id, { remoteImages = false, signal } = {}) =>
    json(`/messages/${enc(id)}${remoteImages ? "?remote_images=true" : ""}`, { token, signal }),
  deleteMessage: ({ token }, id) => json(`/messages/${enc(id)}`, { token, method: "DELETE" }),
  getRaw: async ({ token }, id, signal) => (await call(`/messages/${enc(id)}/raw`, { token, signal, accept: "message/rfc822" })).blob(),
  getAttachment: async ({ token }, messageId, attachmentId) =>
    (await call(`/messages/${enc(messageId)}/attachments/${enc(attachmentId)}`, { token, accept: "*/*" })).blob(),
  eventsPath: ({ inbox_id }) => `${BASE}/inboxes/${enc(inbox_id)}/events`,
};
