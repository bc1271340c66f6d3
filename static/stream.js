/**
 * Live events of one inbox: GET /inboxes/{id}/events read with fetch() and a ReadableStream,
 * because EventSource cannot send the Authorization header and the token must stay out of URLs.
 * Reconnects by itself with capped exponential backoff until stopped or the inbox ends.
 */

import { ApiError, api, errorFrom } from "./api.js";

/** The server pings every ~15 s; this much silence means the connection is dead without saying so. */
const SILENCE_LIMIT_MS = 45_000;
const MAX_BACKOFF_MS = 30_000;

/**
 * Incremental parser for the text/event-stream format. `push` takes decoded text in arbitrary
 * pieces and calls `dispatch(type, data)` for each complete event; comments (": ping") are skipped.
 */
export class EventStreamParser {
  #buffer = "";
  #type = "";
  #data = [];

  constructor(dispatch) {
    this.dispatch = dispatch;
  }

  push(text) {
    this.#buffer += text;
    for (;;) {
      const end = this.#buffer.search(/[\r\n]/);
      if (end === -1) return;
      // A lone CR at the end of a chunk may be the first half of CRLF: wait for more.
      if (this.#buffer[end] === "\r" && end === this.#buffer.length - 1) return;
      const line = this.#buffer.slice(0, end);
      const skip = this.#buffer.startsWith("\r\n", end) ? 2 : 1;
      this.#buffer = this.#buffer.slice(end + skip);
      this.#line(line);
    }
  }

  #line(line) {
    if (line === "") {
      const type = this.#type || "message";
      const data = this.#data.join("\n");
      const hadData = this.#data.length > 0;
      this.#type = "";
      this.#data = [];
      if (hadData || type !== "message") this.dispatch(type, data);
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.#type = value;
    else if (field === "data") this.#data.push(value);
  }
}

/**
 * Handlers:
 *   onOpen()                 connected (again); the caller should re-sync the message list
 *   onMessage(summary)       a new message, same shape as a list item
 *   onLost(delayMs, error)   disconnected; retrying after delayMs
 *   onEnd(reason)            "expired", "deleted" or "gone" (401/404); no more retries
 */
export class InboxStream {
  #inbox;
  #handlers;
  #stopped = false;
  #controller = null;
  #wake = null;
  #restarting = false;

  constructor(inbox, handlers) {
    this.#inbox = inbox;
    this.#handlers = handlers;
  }

  start() {
    this.#run();
    return this;
  }

  stop() {
    this.#stopped = true;
    this.#controller?.abort();
    this.#wake?.();
  }

  /**
   * Connect afresh now: skip any backoff wait and drop the current connection, which may be
   * dead without knowing it (say, after the network came back or the computer woke up).
   */
  restart() {
    if (this.#stopped) return;
    if (this.#wake) {
      this.#wake();
      return;
    }
    this.#restarting = true;
    this.#controller?.abort();
  }

  async #run() {
    let attempt = 0;
    while (!this.#stopped) {
      let failure;
      try {
        const ended = await this.#connect(() => {
          attempt = 0;
        });
        if (ended || this.#stopped) return;
        failure = new ApiError(0, "closed", "The event stream closed.");
      } catch (error) {
        if (this.#stopped) return;
        failure = error instanceof ApiError ? error : new ApiError(0, "network", error.message);
      }
      if (failure.inboxGone) {
        this.#handlers.onEnd("gone");
        return;
      }
      if (this.#restarting) {
        this.#restarting = false;
        attempt = 0;
        continue;
      }
      const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      const delay = failure.retryAfterSeconds ? failure.retryAfterSeconds * 1000 : backoff;
      attempt += 1;
      this.#handlers.onLost(delay, failure);
      await this.#sleep(delay);
    }
  }

  /** One connection. Resolves true when the inbox ended, false when the stream just closed. */
  async #connect(onConnected) {
    const controller = new AbortController();
    this.#controller = controller;
    let silenceTimer = null;
    let silent = false;
    const armWatchdog = () => {
      clearTimeout(silenceTimer);
      silenceTimer = setTimeout(() => {
        silent = true;
        controller.abort();
      }, SILENCE_LIMIT_MS);
    };
    armWatchdog();
    try {
      let response;
      try {
        response = await fetch(api.eventsPath(this.#inbox), {
          headers: { Authorization: `Bearer ${this.#inbox.token}`, Accept: "text/event-stream" },
          cache: "no-store",
          credentials: "omit",
          signal: controller.signal,
        });
      } catch (error) {
        throw new ApiError(0, silent ? "timeout" : "network", error.message);
      }
      if (!response.ok) throw await errorFrom(response);
      if (!response.body) throw new ApiError(0, "network", "This browser cannot read streamed responses.");
      onConnected();
      this.#handlers.onOpen();

      let ended = null;
      const parser = new EventStreamParser((type, data) => {
        if (type === "message") {
          let summary;
          try {
            summary = JSON.parse(data);
          } catch {
            return; // A malformed event is skipped; the next re-sync of the list has the message.
          }
          this.#handlers.onMessage(summary);
        } else if (type === "expired" || type === "deleted") {
          ended = type;
        }
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return false;
          armWatchdog();
          parser.push(value);
          if (ended) {
            this.#handlers.onEnd(ended);
            return true;
          }
        }
      } catch (error) {
        if (this.#stopped) return true;
        throw new ApiError(0, silent ? "timeout" : "network", error.message);
      } finally {
        reader.cancel().catch(() => {});
      }
    } finally {
      clearTimeout(silenceTimer);
      controller.abort();
    }
  }

  /** Wait before the next attempt; restart() or stop() cut the wait short. */
  #sleep(milliseconds) {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(finish, milliseconds);
      this.#wake = finish;
    });
  }
}
