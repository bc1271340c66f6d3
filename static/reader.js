/**
 * The open message: its one-time codes and verification link up front, headers, the sanitized
 * HTML in a sandboxed iframe, plain text, raw source, attachments, and the per-message choice
 * to load remote images.
 */

import { ApiError, api, describeError } from "./api.js";
import { ICONS, byId, copyText, h, icon, linkify, saveBlob, selectContents } from "./dom.js";
import { formatDateTime, formatFullDateTime, formatSize, parseDate } from "./format.js";

/**
 * No allow-scripts (so nothing in a mail runs) and no allow-same-origin (so the frame is an opaque
 * origin that cannot reach this page, its storage or the token). Popups only, for links in the mail.
 */
const FRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox";

/**
 * Policy of the frame document, on top of the page's own (which srcdoc frames inherit):
 * images from data: only (the server inlines cid: parts as data: URIs), and http(s) images
 * only after the person asked for them for this message.
 */
function frameCsp(remoteImages) {
  const images = remoteImages ? "data: http: https:" : "data:";
  return `default-src 'none'; img-src ${images}; style-src 'unsafe-inline'`;
}

/** Mail is written for a white page, so the frame stays light even in dark mode, like mail clients do. */
const FRAME_STYLE = `
  :root { color-scheme: light; }
  html { background: #fff; }
  body { margin: 0; padding: 16px; background: #fff; color: #1f2328;
         font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
         overflow-wrap: break-word; }
  img { max-width: 100%; height: auto; }
  pre { white-space: pre-wrap; }
  table { max-width: 100%; }
  a { color: #0b5cad; }
`;

function frameDocument(bodyHtml, remoteImages) {
  return (
    "<!doctype html><html><head><meta charset=\"utf-8\">" +
    `<meta http-equiv="Content-Security-Policy" content="${frameCsp(remoteImages)}">` +
    "<meta name=\"referrer\" content=\"no-referrer\">" +
    "<base target=\"_blank\">" +
    `<style>${FRAME_STYLE}</style></head><body>${bodyHtml}</body></html>`
  );
}

/** Show at most this much of a raw source inline; the rest is a download away. */
const RAW_PREVIEW_BYTES = 2 * 1024 * 1024;

function safeFilename(name, fallback) {
  // Invisible characters first (Unicode Cf and Cc, separators, lone surrogates): a right-to-left
  // override in "invoice\u202efdp.exe" would show it as "invoiceexe.pdf" in the save dialog.
  const visible = (name ?? "").replace(/[\p{Cf}\p{Cc}\p{Cs}\p{Zl}\p{Zp}]+/gu, "");
  const cleaned = visible.replace(/[\\/:*?"<>|]+/g, "_").replace(/^[\s.]+|[\s.]+$/g, "");
  return cleaned.slice(0, 120) || fallback;
}

const TABS = ["html", "text", "raw"];
const COPIED_FEEDBACK_MS = 2000;
/** More than this many guesses would bury the likely one. */
const MAX_CODES = 3;

/** The link as a URL when it is one a person may safely be sent to (http or https), else null. */
function webUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:" ? url : null;
  } catch {
    return null;
  }
}

/** "dev+github@localhost" with the "+github" part marked, so that the tag stands out. */
function taggedAddress(address) {
  const match = /^([^+@]*)(\+[^@]*)(@.*)$/.exec(address);
  return match ? [match[1], h("span", { className: "address-tag" }, match[2]), match[3]] : [address];
}

export class MessageReader {
  #inbox = null;
  #message = null;
  #loadController = null;
  #rawBlob = null;
  #rawLoading = null;
  #remoteLoaded = false;
  /** The id being loaded, before its message has arrived. */
  #pendingId = null;

  /**
   * handlers.onLoaded(message): a message is on show (the server now counts it as seen).
   * handlers.onError(text): show a problem to the person.
   * handlers.announce(text): say something to screen readers.
   * handlers.onMissing(id): the message no longer exists on the server.
   * handlers.onInboxGone(): the server no longer accepts the inbox's token.
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.root = byId("reader");
    this.loading = byId("reader-loading");
    this.body = byId("reader-body");
    this.subject = byId("reader-subject");
    this.headers = byId("reader-headers");
    this.quick = byId("quick");
    this.codes = byId("codes");
    this.codesLabel = byId("codes-label");
    this.codeList = byId("code-list");
    this.verify = byId("verify");
    this.verifyLink = byId("verify-link");
    this.verifyHost = byId("verify-host");
    this.verifyScheme = byId("verify-scheme");
    this.remoteBanner = byId("remote-banner");
    this.remoteText = byId("remote-text");
    this.loadRemoteButton = byId("load-remote");
    this.inlineOmitted = byId("inline-omitted");
    this.frameHolder = byId("frame-holder");
    this.bodyText = byId("body-text");
    this.rawSource = byId("raw-source");
    this.attachments = byId("attachments");
    this.attachmentList = byId("attachment-list");
    this.tabs = Object.fromEntries(TABS.map((name) => [name, byId(`tab-${name}`)]));
    this.panels = Object.fromEntries(TABS.map((name) => [name, byId(`panel-${name}`)]));

    for (const name of TABS) this.tabs[name].addEventListener("click", () => this.selectTab(name));
    byId("tabs").addEventListener("keydown", (event) => this.#onTabKey(event));
    this.loadRemoteButton.addEventListener("click", () => this.#loadRemoteImages());
    byId("download-raw").addEventListener("click", () => this.#downloadRaw());
  }

  /** The id of the message on show, or null. */
  get messageId() {
    return this.#message?.id ?? this.#pendingId ?? null;
  }

  /** Load and show the message that `summary` (its list item) stands for. */
  async open(inbox, summary) {
    this.close();
    this.#inbox = inbox;
    this.#pendingId = summary.id;
    this.root.hidden = false;
    this.body.hidden = true;
    this.loading.hidden = false;
    this.loading.textContent = "Loading message…";
    const controller = new AbortController();
    this.#loadController = controller;
    try {
      const message = await api.getMessage(inbox, summary.id, { signal: controller.signal });
      if (controller.signal.aborted) return;
      this.#show(message);
      this.handlers.onLoaded(message);
    } catch (error) {
      if (error.name === "AbortError") return;
      this.loading.textContent = describeError(error, "open this message");
      if (error instanceof ApiError && error.status === 404) this.handlers.onMissing(summary.id);
      else if (error instanceof ApiError && error.status === 401) this.handlers.onInboxGone();
      else this.handlers.onError(describeError(error, "open this message"));
    }
  }

  /** Hide the reader and forget the message, cancelling anything still loading. */
  close() {
    this.#loadController?.abort();
    this.#loadController = null;
    this.#message = null;
    this.#pendingId = null;
    this.#rawBlob = null;
    this.#rawLoading = null;
    this.#remoteLoaded = false;
    this.frameHolder.replaceChildren();
    this.bodyText.replaceChildren();
    this.rawSource.textContent = "";
    delete this.rawSource.dataset.messageId;
    this.attachmentList.replaceChildren();
    this.codeList.replaceChildren();
    this.verifyLink.removeAttribute("href");
    this.quick.hidden = true;
    this.inlineOmitted.hidden = true;
    this.root.hidden = true;
  }

  #show(message) {
    this.#message = message;
    this.#pendingId = null;
    this.loading.hidden = true;
    this.body.hidden = false;
    this.subject.textContent = message.subject || "(no subject)";
    this.#renderQuick(message);
    this.#renderHeaders(message);
    this.#renderRemoteBanner(message);
    this.#renderInlineOmitted(message);
    this.#renderFrame(message.body_html, false);
    this.bodyText.replaceChildren(
      message.body_text ? linkify(message.body_text) : h("span", { className: "muted" }, "This message has no plain-text version."),
    );
    this.#renderAttachments(message);

    const hasHtml = Boolean(message.body_html);
    this.tabs.html.hidden = !hasHtml;
    this.selectTab(hasHtml ? "html" : "text", { focus: false });
  }

  /** The codes to copy and the link to follow, which are usually why a disposable inbox exists. */
  #renderQuick(message) {
    const codes = (message.codes ?? []).filter((code) => typeof code === "string" && code).slice(0, MAX_CODES);
    this.codes.hidden = codes.length === 0;
    this.codesLabel.textContent = codes.length > 1 ? "Possible codes (most likely first)" : "Code";
    this.codeList.replaceChildren(...codes.map((code) => this.#codeItem(code)));

    // The server lists verification links first; only the first is offered, and only if it is a web link.
    const link = (message.links ?? []).find((candidate) => candidate.verification);
    const url = link ? webUrl(link.url) : null;
    this.verify.hidden = !url;
    if (url) {
      this.verifyLink.href = url.href;
      this.verifyLink.title = url.href;
      // host is in punycode for international names, so look-alike letters cannot pass for others.
      this.verifyHost.textContent = url.host;
      this.verifyScheme.textContent = url.protocol === "https:" ? "" : " (not encrypted)";
    } else {
      this.verifyLink.removeAttribute("href");
    }
    this.quick.hidden = codes.length === 0 && !url;
  }

  #codeItem(code) {
    const text = h("code", { className: "code", translate: "no" }, code);
    const label = h("span", {}, "Copy");
    const button = h(
      "button",
      { type: "button", className: "button copy", "aria-label": `Copy code ${code}` },
      icon(ICONS.copy),
      label,
    );
    let timer = null;
    button.addEventListener("click", async () => {
      if (!(await copyText(code))) {
        selectContents(text);
        this.handlers.onError("Your browser did not allow copying. The code is selected: press Ctrl+C (or ⌘C) to copy it.");
        return;
      }
      button.dataset.state = "copied";
      label.textContent = "Copied!";
      this.handlers.announce(`Code ${code} copied to the clipboard.`);
      clearTimeout(timer);
      timer = setTimeout(() => {
        button.dataset.state = "";
        label.textContent = "Copy";
      }, COPIED_FEEDBACK_MS);
    });
    return h("li", { className: "code-item" }, text, button);
  }

  #renderHeaders(message) {
    const received = parseDate(message.received_at);
    // Only worth showing when it says more than the address on show: a +tag, usually.
    const own = (this.#inbox?.address ?? "").toLowerCase();
    const deliveredTo = (message.delivered_to ?? []).filter((address) => address.toLowerCase() !== own);
    const rows = [
      ["From", message.from || "(unknown sender)"],
      ["To", (message.to ?? []).join(", ")],
      [
        "Delivered to",
        deliveredTo.length ? h("span", { translate: "no" }, deliveredTo.flatMap((address, index) => [index ? ", " : "", ...taggedAddress(address)])) : "",
      ],
      ["Cc", (message.cc ?? []).join(", ")],
      [
        "Received",
        received
          ? h("time", { datetime: message.received_at, title: formatFullDateTime(received) }, formatDateTime(received))
          : message.date || "",
      ],
    ];
    this.headers.replaceChildren(
      ...rows.filter(([, value]) => value).flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
    );
  }

  #renderRemoteBanner(message) {
    const blocked = Number(message.remote_images_blocked) || 0;
    if (this.#remoteLoaded) {
      this.remoteBanner.hidden = false;
      this.remoteBanner.dataset.state = "loaded";
      this.remoteText.textContent = "Remote images are shown for this message. Their senders can see that you opened it.";
      this.loadRemoteButton.hidden = true;
      return;
    }
    this.remoteBanner.hidden = blocked === 0;
    this.remoteBanner.dataset.state = "blocked";
    this.loadRemoteButton.hidden = false;
    this.loadRemoteButton.disabled = false;
    this.remoteText.textContent =
      `${blocked} remote ${blocked === 1 ? "image was" : "images were"} blocked. ` +
      "Remote images can tell the sender that you opened this message.";
  }

  /** The server shows each message's embedded images up to a size budget; say when it left some out. */
  #renderInlineOmitted(message) {
    const omitted = Number(message.inline_images_omitted) || 0;
    this.inlineOmitted.hidden = omitted === 0;
    this.inlineOmitted.textContent = omitted
      ? `${omitted} embedded ${omitted === 1 ? "image was" : "images were"} left out: this message ` +
        "uses its images more often than fit in one view. Their alt text is shown instead; the " +
        "Raw source tab and the download have them all."
      : "";
  }

  #renderFrame(bodyHtml, remoteImages) {
    if (!bodyHtml) {
      this.frameHolder.replaceChildren();
      return;
    }
    // A new frame each time, so nothing loaded under the old policy survives into the new one.
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", FRAME_SANDBOX);
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.setAttribute("title", "Message content");
    frame.className = "message-frame";
    frame.srcdoc = frameDocument(bodyHtml, remoteImages);
    this.frameHolder.replaceChildren(frame);
  }

  #renderAttachments(message) {
    const attachments = message.attachments ?? [];
    this.attachments.hidden = attachments.length === 0;
    this.attachmentList.replaceChildren(
      ...attachments.map((attachment) => {
        const name = attachment.filename || "unnamed attachment";
        const button = h(
          "button",
          { type: "button", className: "button subtle", "aria-label": `Download ${name}` },
          icon(ICONS.download),
          "Download",
        );
        button.addEventListener("click", () => this.#downloadAttachment(message.id, attachment, button));
        return h(
          "li",
          { className: "attachment" },
          icon(ICONS.paperclip, "icon attachment-icon"),
          h(
            "div",
            { className: "attachment-info" },
            h("span", { className: "attachment-name" }, name),
            h("span", { className: "attachment-meta" }, [attachment.content_type, formatSize(attachment.size)].filter(Boolean).join(" · ")),
          ),
          button,
        );
      }),
    );
  }

  /** Show one tab. Raw source loads the first time it is asked for. */
  selectTab(name, { focus = false } = {}) {
    for (const other of TABS) {
      const selected = other === name;
      this.tabs[other].setAttribute("aria-selected", String(selected));
      this.tabs[other].tabIndex = selected ? 0 : -1;
      this.panels[other].hidden = !selected;
    }
    if (focus) this.tabs[name].focus();
    if (name === "raw") this.#showRaw();
  }

  #onTabKey(event) {
    const visible = TABS.filter((name) => !this.tabs[name].hidden);
    const current = visible.findIndex((name) => this.tabs[name] === document.activeElement);
    if (current === -1) return;
    const moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: visible.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = (moves[event.key] + visible.length) % visible.length;
    this.selectTab(visible[next], { focus: true });
  }

  async #rawSourceBlob() {
    const message = this.#message;
    if (this.#rawBlob) return this.#rawBlob;
    this.#rawLoading ??= api.getRaw(this.#inbox, message.id, this.#loadController?.signal);
    try {
      const blob = await this.#rawLoading;
      if (this.#message === message) this.#rawBlob = blob;
      return blob;
    } finally {
      this.#rawLoading = null;
    }
  }

  async #showRaw() {
    const message = this.#message;
    if (!message || this.rawSource.dataset.messageId === message.id) return;
    this.rawSource.textContent = "Loading raw source…";
    try {
      const blob = await this.#rawSourceBlob();
      if (this.#message !== message) return;
      const preview = blob.size > RAW_PREVIEW_BYTES ? blob.slice(0, RAW_PREVIEW_BYTES) : blob;
      let text = await preview.text();
      if (blob.size > RAW_PREVIEW_BYTES) {
        text += `\n\n[Showing the first ${formatSize(RAW_PREVIEW_BYTES)} of ${formatSize(blob.size)}. Download the .eml file for all of it.]`;
      }
      this.rawSource.textContent = text;
      this.rawSource.dataset.messageId = message.id;
    } catch (error) {
      if (error.name === "AbortError" || this.#message !== message) return;
      this.rawSource.textContent = describeError(error, "load the raw source");
    }
  }

  async #downloadRaw() {
    const message = this.#message;
    if (!message) return;
    try {
      const blob = await this.#rawSourceBlob();
      saveBlob(new Blob([blob], { type: "message/rfc822" }), `${safeFilename(message.subject, "message")}.eml`);
    } catch (error) {
      if (error.name !== "AbortError") this.handlers.onError(describeError(error, "download the raw source"));
    }
  }

  async #downloadAttachment(messageId, attachment, button) {
    button.disabled = true;
    button.lastChild.textContent = "Downloading…";
    try {
      const blob = await api.getAttachment(this.#inbox, messageId, attachment.id);
      saveBlob(blob, safeFilename(attachment.filename, "attachment"));
    } catch (error) {
      this.handlers.onError(describeError(error, `download “${attachment.filename || "the attachment"}”`));
    } finally {
      button.disabled = false;
      button.lastChild.textContent = "Download";
    }
  }

  async #loadRemoteImages() {
    const message = this.#message;
    if (!message) return;
    this.loadRemoteButton.disabled = true;
    try {
      const withImages = await api.getMessage(this.#inbox, message.id, {
        remoteImages: true,
        signal: this.#loadController?.signal,
      });
      if (this.#message !== message) return;
      this.#remoteLoaded = true;
      this.#renderRemoteBanner(withImages);
      this.#renderInlineOmitted(withImages);
      this.#renderFrame(withImages.body_html, true);
    } catch (error) {
      if (error.name === "AbortError" || this.#message !== message) return;
      this.loadRemoteButton.disabled = false;
      this.handlers.onError(describeError(error, "load the remote images"));
    }
  }
}
