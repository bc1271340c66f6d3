/**
 * tempmail's page: one inbox on show at a time, its messages arriving live, and the
 * short list of this browser's other live inboxes.
 */

import { ApiError, api, describeError, serverClock } from "./api.js";
import { byId, copyText, h, selectContents } from "./dom.js";
import { describeDuration, formatCountdown, formatFullDateTime } from "./format.js";
import { MessageList, senderName } from "./message-list.js";
import { MessageReader } from "./reader.js";
import * as store from "./store.js";
import { InboxStream } from "./stream.js";

/** Must match the two-pane breakpoint in app.css. */
const WIDE_LAYOUT = window.matchMedia("(min-width: 60rem)");
const SOON_MS = 5 * 60_000;
const COPIED_FEEDBACK_MS = 2000;
const HOUR_MS = 3_600_000;
/** What one press of "Extend" adds; the server caps the total at its max_ttl_hours. */
const EXTEND_HOURS = 24;

/** Everything that belongs to the inbox on show; thrown away whole when another is opened. */
class Session {
  constructor(inbox) {
    this.inbox = inbox;
    /** Summaries by id, and the order to show them in (newest first). */
    this.messages = new Map();
    this.order = [];
    /** Ids opened here, read even if a list fetched before that still says unseen. */
    this.read = new Set();
    this.stream = null;
    this.ended = null;
    this.controller = new AbortController();
  }

  get active() {
    return !this.controller.signal.aborted;
  }

  dispose() {
    this.controller.abort();
    this.stream?.stop();
  }

  unreadCount() {
    return this.order.filter((id) => !(this.messages.get(id).seen || this.read.has(id))).length;
  }
}

const ELEMENT_IDS = [
  "welcome", "welcome-text", "welcome-create",
  "inbox", "address", "copy-address", "copy-label", "expiry", "expiry-label", "countdown", "extend-inbox",
  "connection", "connection-text", "delete-inbox",
  "expired-panel", "expired-title", "expired-text", "expired-create",
  "panes", "list-title", "message-list", "message-count", "empty-state", "reader-back", "delete-message", "reader-placeholder",
  "switcher", "inbox-switcher", "new-inbox", "custom-inbox",
  "custom-dialog", "custom-form", "custom-local", "custom-domain", "custom-domain-name", "custom-ttl", "custom-error",
  "custom-cancel", "custom-submit",
  "notice", "notice-text", "notice-dismiss", "announcer",
  "confirm-delete-inbox", "confirm-text", "confirm-cancel", "confirm-delete",
];

/** The server's words about a refused address, with its field name put the way a person would. */
function describeAddressError(error) {
  if (!(error instanceof ApiError) || !(error.status === 409 || error.status === 422) || !error.serverMessage) {
    return describeError(error, "create the inbox");
  }
  const message = error.serverMessage.replace(/^local_part\b/, "The part before the @").replace(/^domain\b/, "The domain");
  return `That address cannot be used. ${message}`;
}

class App {
  session = null;
  copyTimer = null;
  /** GET /domains, once per page: {domains, default}. */
  domains = null;

  constructor() {
    // Every element the controller touches, as this.el.camelCase.
    this.el = Object.fromEntries(ELEMENT_IDS.map((id) => [id.replace(/-(\w)/g, (_, letter) => letter.toUpperCase()), byId(id)]));
    this.list = new MessageList(
      { list: this.el.messageList, empty: this.el.emptyState, count: this.el.messageCount },
      (id) => this.openMessage(id),
    );
    this.reader = new MessageReader({
      onLoaded: (message) => this.markRead(message.id),
      onError: (text) => this.showNotice(text),
      announce: (text) => this.announce(text),
      onMissing: (id) => {
        this.removeMessage(id);
        this.showNotice("That message no longer exists. It was deleted, or its inbox expired.");
      },
      onInboxGone: () => {
        if (this.session) this.endInbox(this.session, "gone");
      },
    });
  }

  start() {
    const { el } = this;
    el.newInbox.addEventListener("click", () => this.createInbox());
    el.welcomeCreate.addEventListener("click", () => this.createInbox());
    el.expiredCreate.addEventListener("click", () => this.createInbox());
    el.copyAddress.addEventListener("click", () => this.copyAddress());
    el.extendInbox.addEventListener("click", () => this.extendInbox());
    el.customInbox.addEventListener("click", () => this.openCustomDialog());
    el.customCancel.addEventListener("click", () => el.customDialog.close());
    el.customForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.createCustomInbox();
    });
    el.deleteInbox.addEventListener("click", () => this.confirmDeleteInbox());
    el.confirmCancel.addEventListener("click", () => el.confirmDeleteInbox.close("cancel"));
    el.confirmDelete.addEventListener("click", () => el.confirmDeleteInbox.close("delete"));
    el.confirmDeleteInbox.addEventListener("close", () => {
      if (el.confirmDeleteInbox.returnValue === "delete") this.deleteInbox();
    });
    el.deleteMessage.addEventListener("click", () => this.deleteMessage());
    el.readerBack.addEventListener("click", () => this.closeMessage({ restoreFocus: true }));
    el.noticeDismiss.addEventListener("click", () => this.hideNotice());
    el.inboxSwitcher.addEventListener("change", () => {
      const inbox = store.findInbox(el.inboxSwitcher.value);
      if (inbox) this.openInbox(inbox);
    });
    byId("reader").addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !WIDE_LAYOUT.matches) this.closeMessage({ restoreFocus: true });
    });
    window.addEventListener("online", () => this.session?.stream?.restart());
    window.addEventListener("offline", () => {
      if (this.session && !this.session.ended) this.setConnection("lost", "Offline. Waiting for the network…");
    });
    store.onExternalChange(() => {
      this.adoptStoredExpiry();
      this.renderSwitcher();
    });
    setInterval(() => this.tick(), 1000);

    // The inbox last on show comes back even if it expired meanwhile, to say so; a first visit
    // gets a new inbox straight away.
    const last = store.findInbox(store.currentInboxId());
    const current = last ?? store.liveInboxes(serverClock.now())[0];
    if (current) this.openInbox(current);
    else this.createInbox();
  }

  async createInbox() {
    const buttons = [this.el.newInbox, this.el.welcomeCreate, this.el.expiredCreate];
    for (const button of buttons) button.disabled = true;
    try {
      this.inboxCreated(await api.createInbox());
    } catch (error) {
      this.showNotice(describeError(error, "create an inbox"));
      if (!this.session) this.showWelcome();
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  inboxCreated(created) {
    store.rememberInbox(created);
    this.hideNotice();
    this.openInbox(store.findInbox(created.inbox_id) ?? created);
    this.announce(`New inbox created: ${created.address}`);
  }

  openCustomDialog() {
    const { el } = this;
    this.showFormError(null);
    el.customDialog.showModal();
    el.customLocal.focus();
    this.loadDomains();
  }

  async loadDomains() {
    if (this.domains) return;
    // Until the server says, the domain on show is the current inbox's (it needs no choosing).
    const current = this.session?.inbox.address.split("@").pop();
    this.renderDomains({ domains: current ? [current] : [], default: current });
    try {
      this.domains = await api.listDomains();
      this.renderDomains(this.domains);
    } catch {
      // Without the list the server picks its default domain, which is fine.
    }
  }

  renderDomains({ domains, default: preferred }) {
    const { el } = this;
    const several = domains.length > 1;
    el.customDomain.replaceChildren(...domains.map((domain) => h("option", { value: domain }, domain)));
    el.customDomain.value = preferred ?? domains[0] ?? "";
    el.customDomain.hidden = !several;
    el.customDomainName.textContent = several ? "" : (domains[0] ?? "");
    el.customDomainName.hidden = several;
  }

  async createCustomInbox() {
    const { el } = this;
    const localPart = el.customLocal.value.trim();
    if (!localPart) {
      this.showFormError("Enter the part of the address before the @.");
      return;
    }
    const hours = Number(el.customTtl.value);
    const request = { local_part: localPart, ttl_hours: hours };
    if (!el.customDomain.hidden && el.customDomain.value) request.domain = el.customDomain.value;
    el.customSubmit.disabled = true;
    this.showFormError(null);
    try {
      const created = await api.createInbox(request);
      el.customDialog.close();
      el.customForm.reset();
      this.inboxCreated(created);
      const lifetime = Date.parse(created.expires_at) - serverClock.now();
      if (lifetime < hours * HOUR_MS - 5 * 60_000) {
        this.showNotice(`This server keeps an inbox for at most ${describeDuration(lifetime)}, so that is how long this one lasts.`);
      }
    } catch (error) {
      this.showFormError(describeAddressError(error));
    } finally {
      el.customSubmit.disabled = false;
    }
  }

  /** Show (text) or clear (null) the problem with the custom address form, next to its field. */
  showFormError(text) {
    const { el } = this;
    el.customError.textContent = text ?? "";
    el.customError.hidden = !text;
    if (text) {
      el.customLocal.setAttribute("aria-invalid", "true");
      el.customLocal.focus();
    } else {
      el.customLocal.removeAttribute("aria-invalid");
    }
  }

  /** Another tab extended the inbox on show: count down to its new end, not the old one. */
  adoptStoredExpiry() {
    const session = this.session;
    const stored = session && !session.ended ? store.findInbox(session.inbox.inbox_id) : null;
    if (!stored || stored.expires_at === session.inbox.expires_at) return;
    session.inbox.expires_at = stored.expires_at;
    this.tick();
  }

  /** Ask for EXTEND_HOURS more; the countdown shows whatever the server granted. */
  async extendInbox() {
    const session = this.session;
    if (!session || session.ended) return;
    const button = this.el.extendInbox;
    const before = Date.parse(session.inbox.expires_at);
    const remaining = Math.max(0, before - serverClock.now());
    button.disabled = true;
    try {
      const info = await api.extendInbox(session.inbox, remaining / HOUR_MS + EXTEND_HOURS);
      if (!session.active || session.ended) return;
      session.inbox.expires_at = info.expires_at;
      store.rememberInbox(session.inbox);
      this.tick();
      const gained = Date.parse(info.expires_at) - before;
      const until = formatFullDateTime(new Date(Date.parse(info.expires_at)));
      if (gained < 60_000) {
        this.showNotice(`This inbox already lasts as long as the server allows. It expires ${until}.`);
      } else if (gained < EXTEND_HOURS * HOUR_MS - 60_000) {
        this.announce(`Extended as far as the server allows: the inbox now expires ${until}.`);
      } else {
        this.announce(`Extended by ${EXTEND_HOURS} hours: the inbox now expires ${until}.`);
      }
    } catch (error) {
      if (error.inboxGone) this.endInbox(session, "gone");
      else this.showNotice(describeError(error, "extend the inbox"));
    } finally {
      button.disabled = false;
    }
  }

  showWelcome(text) {
    this.session?.dispose();
    this.session = null;
    this.reader.close();
    this.el.inbox.hidden = true;
    this.el.welcome.hidden = false;
    if (text) this.el.welcomeText.textContent = text;
    document.title = "tempmail";
    this.renderSwitcher();
  }

  /** Show an inbox: what is stored at once, then its messages, then live updates. */
  openInbox(inbox) {
    this.session?.dispose();
    this.reader.close();
    const session = new Session(inbox);
    this.session = session;
    store.setCurrentInboxId(inbox.inbox_id);

    const { el } = this;
    el.welcome.hidden = true;
    el.inbox.hidden = false;
    el.inbox.dataset.state = "live";
    // Long addresses wrap before the @ when they can.
    const at = inbox.address.lastIndexOf("@");
    el.address.replaceChildren(inbox.address.slice(0, at), document.createElement("wbr"), inbox.address.slice(at));
    el.copyAddress.disabled = false;
    el.copyAddress.setAttribute("aria-label", `Copy ${inbox.address}`);
    el.deleteInbox.hidden = false;
    el.extendInbox.hidden = false;
    el.connection.hidden = false;
    el.expiredPanel.hidden = true;
    el.panes.hidden = false;
    this.list.clear();
    this.showList();
    this.renderList();
    this.renderSwitcher();
    this.setConnection("connecting", "Connecting…");
    this.tick();
    if (session.ended) return;

    // The list loads once the stream is connected, so that nothing can fall between the two.
    session.stream = new InboxStream(inbox, {
      onOpen: () => {
        this.setConnection("live", "Live");
        // Catch up on anything that arrived while there was no connection.
        this.refreshMessages(session);
      },
      onMessage: (summary) => this.addMessages(session, [summary], { live: true }),
      onLost: (delay, error) => {
        if (!session.active) return;
        const reason = error.status === 429 ? "Too many requests" : navigator.onLine ? "Connection lost" : "Offline";
        this.setConnection("lost", `${reason}. Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
        // Without live updates, each retry doubles as a poll (the retries back off to one per 30 s).
        if (error.status !== 429 && navigator.onLine) this.refreshMessages(session);
      },
      onEnd: (reason) => this.endInbox(session, reason),
    }).start();
  }

  async refreshMessages(session) {
    const before = new Set(session.order);
    try {
      const { messages } = await api.listMessages(session.inbox, session.controller.signal);
      if (!session.active || session.ended) return;
      // The server's list (newest first) is authoritative, except for messages the stream
      // delivered while it was on its way: those are newer than anything in it.
      const arrivedMeanwhile = session.order.filter((id) => !before.has(id)).map((id) => session.messages.get(id));
      const listed = messages.filter((summary) => !arrivedMeanwhile.some((other) => other.id === summary.id));
      const all = [...arrivedMeanwhile, ...listed];
      session.messages = new Map(all.map((summary) => [summary.id, summary]));
      session.order = all.map((summary) => summary.id);
      this.renderList();
    } catch (error) {
      if (error.name === "AbortError" || !session.active) return;
      if (error.inboxGone) this.endInbox(session, "gone");
      // A network failure is already on show as the connection state.
      else if (error.status !== 0) this.showNotice(describeError(error, "load the messages"));
    }
  }

  addMessages(session, summaries, { live = false } = {}) {
    if (!session.active || session.ended) return;
    const fresh = summaries.filter((summary) => summary && summary.id && !session.messages.has(summary.id));
    if (fresh.length === 0) return;
    // Live messages are the newest there are; received_at has only one-second resolution anyway.
    for (const summary of fresh) session.messages.set(summary.id, summary);
    session.order = [...fresh.map((summary) => summary.id).reverse(), ...session.order];
    this.renderList({ highlight: live ? fresh.map((summary) => summary.id) : [] });
    if (live) {
      const [first] = fresh;
      this.announce(`New message from ${senderName(first.from)}: ${first.subject || "(no subject)"}`);
    }
  }

  removeMessage(id) {
    const session = this.session;
    if (!session || !session.messages.delete(id)) return;
    session.order = session.order.filter((other) => other !== id);
    if (this.reader.messageId === id) this.closeMessage();
    this.renderList();
  }

  renderList({ highlight = [] } = {}) {
    const session = this.session;
    if (!session) return;
    this.list.render(session, { selectedId: this.reader.messageId, highlight });
    const unread = session.unreadCount();
    document.title = unread ? `(${unread}) tempmail` : "tempmail";
  }

  openMessage(id) {
    const session = this.session;
    const summary = session?.messages.get(id);
    if (!summary) return;
    this.list.settle(id);
    this.el.readerPlaceholder.hidden = true;
    this.el.panes.dataset.view = "message";
    this.reader.open(session.inbox, summary);
    this.renderList();
    if (!WIDE_LAYOUT.matches) {
      // The list is hidden now; take focus and scroll to the message.
      byId("reader").scrollIntoView({ block: "start" });
      byId("reader-back").focus({ preventScroll: true });
    }
  }

  /** The server marks a message seen when it is read; this shows it here without another fetch. */
  markRead(id) {
    const session = this.session;
    if (!session?.messages.has(id)) return;
    session.read.add(id);
    this.renderList();
  }

  closeMessage({ restoreFocus = false } = {}) {
    const id = this.reader.messageId;
    this.reader.close();
    this.showList();
    this.renderList();
    if (restoreFocus && !(id && this.list.focus(id))) this.el.listTitle.focus();
  }

  showList() {
    this.el.panes.dataset.view = "list";
    this.el.readerPlaceholder.hidden = false;
  }

  async deleteMessage() {
    const session = this.session;
    const id = this.reader.messageId;
    if (!session || !id) return;
    const button = this.el.deleteMessage;
    button.disabled = true;
    try {
      await api.deleteMessage(session.inbox, id);
    } catch (error) {
      if (error.status === 401) {
        this.endInbox(session, "gone");
        return;
      }
      if (error.status !== 404) {
        this.showNotice(describeError(error, "delete the message"));
        return;
      }
      // Already gone on the server: remove it here too.
    } finally {
      button.disabled = false;
    }
    if (!session.active) return;
    const index = session.order.indexOf(id);
    this.removeMessage(id);
    this.announce("Message deleted.");
    const next = session.order[Math.min(index, session.order.length - 1)];
    if (!(next && this.list.focus(next))) this.el.listTitle.focus();
  }

  confirmDeleteInbox() {
    const session = this.session;
    if (!session) return;
    const count = session.order.length;
    this.el.confirmText.textContent =
      `${session.inbox.address} and ${count === 0 ? "everything in it" : `its ${count} ${count === 1 ? "message" : "messages"}`} ` +
      "will be deleted for good. Mail sent to it afterwards will not arrive.";
    this.el.confirmDeleteInbox.returnValue = "";
    this.el.confirmDeleteInbox.showModal();
  }

  async deleteInbox() {
    const session = this.session;
    if (!session) return;
    // Our own deletion ends the stream with a "deleted" event; stop listening first.
    session.stream?.stop();
    this.el.deleteInbox.disabled = true;
    try {
      await api.deleteInbox(session.inbox);
    } catch (error) {
      if (!error.inboxGone) {
        this.showNotice(describeError(error, "delete the inbox"));
        if (session.active) this.openInbox(session.inbox);
        return;
      }
    } finally {
      this.el.deleteInbox.disabled = false;
    }
    store.forgetInbox(session.inbox.inbox_id);
    this.announce(`Inbox ${session.inbox.address} deleted.`);
    if (this.session !== session) return;
    const next = store.liveInboxes(serverClock.now())[0];
    if (next) this.openInbox(next);
    else this.showWelcome("Your inbox was deleted. Create a new one whenever you need it.");
  }

  /** The inbox is over: expired, deleted elsewhere, or unknown to the server. */
  endInbox(session, reason) {
    if (!session.active || session.ended) return;
    const expired = reason === "expired" || (reason === "gone" && Date.parse(session.inbox.expires_at) <= serverClock.now() + 5000);
    session.ended = expired ? "expired" : reason;
    session.stream?.stop();
    store.forgetInbox(session.inbox.inbox_id);
    this.reader.close();

    const { el } = this;
    const [title, text] = expired
      ? ["This inbox has expired", "It no longer receives mail, and its messages have been deleted."]
      : reason === "deleted"
        ? ["This inbox was deleted", "It was deleted, perhaps in another tab. It no longer receives mail."]
        : ["This inbox is no longer available", "The server no longer knows this inbox, so it cannot receive mail here."];
    el.inbox.dataset.state = "ended";
    el.expiredTitle.textContent = title;
    el.expiredText.textContent = text;
    el.expiredPanel.hidden = false;
    el.panes.hidden = true;
    el.copyAddress.disabled = true;
    el.deleteInbox.hidden = true;
    el.extendInbox.hidden = true;
    el.countdown.textContent = "";
    el.expiry.dataset.state = "ended";
    el.expiryLabel.textContent = expired ? "Expired" : "Ended";
    // The expiry line says it all; a connection state would only repeat it.
    el.connection.hidden = true;
    document.title = "tempmail";
    this.renderSwitcher();
    this.announce(title);
  }

  /** Once a second: the countdown, expiry, and every so often the relative times in the list. */
  tick() {
    const session = this.session;
    if (!session || session.ended) return;
    const expiresAt = Date.parse(session.inbox.expires_at);
    const remaining = expiresAt - serverClock.now();
    if (remaining <= 0) {
      this.endInbox(session, "expired");
      return;
    }
    const { el } = this;
    el.expiryLabel.textContent = "Expires in";
    el.expiry.dataset.state = remaining < SOON_MS ? "soon" : "";
    el.countdown.textContent = formatCountdown(remaining);
    el.countdown.dateTime = session.inbox.expires_at;
    el.expiry.title = `Expires ${formatFullDateTime(new Date(expiresAt))} (in ${describeDuration(remaining)})`;
    if (Math.floor(Date.now() / 1000) % 30 === 0) this.renderList();
  }

  renderSwitcher() {
    const { el } = this;
    const live = store.liveInboxes(serverClock.now());
    const currentId = this.session?.inbox.inbox_id;
    const options = live.map((inbox) => h("option", { value: inbox.inbox_id }, inbox.address));
    if (this.session && !live.some((inbox) => inbox.inbox_id === currentId)) {
      options.unshift(h("option", { value: "", disabled: true }, `${this.session.inbox.address} (ended)`));
    }
    el.inboxSwitcher.replaceChildren(...options);
    el.inboxSwitcher.value = live.some((inbox) => inbox.inbox_id === currentId) ? currentId : "";
    el.switcher.hidden = live.filter((inbox) => inbox.inbox_id !== currentId).length === 0;
  }

  setConnection(state, text) {
    this.el.connection.dataset.state = state;
    this.el.connectionText.textContent = text;
  }

  async copyAddress() {
    const address = this.session?.inbox.address;
    if (!address) return;
    if (!(await copyText(address))) {
      selectContents(this.el.address);
      this.showNotice("Your browser did not allow copying. The address is selected: press Ctrl+C (or ⌘C) to copy it.");
      return;
    }
    const { el } = this;
    el.copyAddress.dataset.state = "copied";
    el.copyLabel.textContent = "Copied!";
    this.announce("Address copied to the clipboard.");
    clearTimeout(this.copyTimer);
    this.copyTimer = setTimeout(() => {
      el.copyAddress.dataset.state = "";
      el.copyLabel.textContent = "Copy";
    }, COPIED_FEEDBACK_MS);
  }

  showNotice(text) {
    this.el.noticeText.textContent = text;
    this.el.notice.hidden = false;
  }

  hideNotice() {
    this.el.notice.hidden = true;
  }

  /** Say something to screen readers without moving focus. */
  announce(text) {
    this.el.announcer.textContent = "";
    // A fresh text node after a tick makes repeated identical announcements speak again.
    setTimeout(() => {
      this.el.announcer.textContent = text;
    }, 50);
  }
}

new App().start();
