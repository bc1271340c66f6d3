/**
 * This browser's inboxes, kept in localStorage so that a reload or a later visit finds them.
 * Each record is what POST /inboxes returned ({inbox_id, address, token, expires_at}) plus
 * `created` (ms). Whether a message was read is the server's `seen`, not kept here.
 * Expired inboxes are dropped on read.
 */

const KEY = "tempmail.inboxes";
const CURRENT_KEY = "tempmail.current";
/** A short list: beyond this, the oldest inbox is forgotten. */
export const MAX_INBOXES = 8;

function readStorage(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // Storage disabled (some private modes): the page still works, it just forgets.
  }
}

function writeStorage(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    // Full or disabled storage: nothing sensible to do but carry on.
  }
}

function isRecord(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.inbox_id === "string" &&
    typeof value.address === "string" &&
    typeof value.token === "string" &&
    typeof value.expires_at === "string"
  );
}

function loadAll() {
  try {
    const parsed = JSON.parse(readStorage(KEY) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter(isRecord) : [];
  } catch {
    return [];
  }
}

function saveAll(records) {
  writeStorage(KEY, JSON.stringify(records));
}

/** Live inboxes, newest first. `now` is the server's clock estimate. */
export function liveInboxes(now) {
  const records = loadAll();
  const live = records.filter((record) => Date.parse(record.expires_at) > now);
  if (live.length !== records.length) saveAll(live);
  return live.sort((a, b) => (b.created ?? 0) - (a.created ?? 0));
}

export function findInbox(inboxId) {
  return loadAll().find((record) => record.inbox_id === inboxId) ?? null;
}

/** Add or update an inbox, keeping at most MAX_INBOXES. */
export function rememberInbox(inbox) {
  const records = loadAll();
  const existing = records.find((record) => record.inbox_id === inbox.inbox_id);
  const fields = {
    inbox_id: inbox.inbox_id,
    address: inbox.address,
    token: inbox.token,
    expires_at: inbox.expires_at,
  };
  // Drops the `read` list that earlier versions of the page kept.
  if (existing) Object.assign(existing, fields, { read: undefined });
  else records.push({ ...fields, created: Date.now() });
  records.sort((a, b) => (b.created ?? 0) - (a.created ?? 0));
  saveAll(records.slice(0, MAX_INBOXES));
}

export function forgetInbox(inboxId) {
  saveAll(loadAll().filter((record) => record.inbox_id !== inboxId));
  if (currentInboxId() === inboxId) setCurrentInboxId(null);
}

export function currentInboxId() {
  return readStorage(CURRENT_KEY);
}

export function setCurrentInboxId(inboxId) {
  writeStorage(CURRENT_KEY, inboxId);
}

/** Call `listener` when another tab changes the list. */
export function onExternalChange(listener) {
  window.addEventListener("storage", (event) => {
    if (event.key === KEY || event.key === null) listener();
  });
}
