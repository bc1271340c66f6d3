/**
 * The list of an inbox's messages, newest first. Items are kept by message id and only inserted
 * where they are out of place, so that updates do not take focus away from the person.
 */

import { ICONS, h, icon } from "./dom.js";
import { formatFullDateTime, formatRelative, parseDate } from "./format.js";

/** "Alice Example <alice@example.com>" -> "Alice Example"; a bare address stays as it is. */
export function senderName(from) {
  const match = /^\s*"?([^"<]*?)"?\s*<[^>]*>\s*$/.exec(from ?? "");
  return (match && match[1].trim()) || from || "(unknown sender)";
}

export class MessageList {
  /** List items by message id. */
  #items = new Map();

  /** elements: {list, empty, count}; onOpen(id) is called when the person picks a message. */
  constructor(elements, onOpen) {
    this.list = elements.list;
    this.empty = elements.empty;
    this.count = elements.count;
    this.list.addEventListener("click", (event) => {
      const item = event.target.closest("[data-message-id]");
      if (item) onOpen(item.dataset.messageId);
    });
    this.list.addEventListener("keydown", (event) => this.#onKey(event));
  }

  /** Forget every item (another inbox is on show). */
  clear() {
    this.#items.clear();
    this.list.replaceChildren();
  }

  /**
   * Show `order` (ids, newest first) of `messages` (summaries by id). A message is unread until
   * the server says it was `seen` or its id is in `read` (opened here since the summary came).
   * `selectedId` is the open message, `highlight` ids that just arrived.
   */
  render({ order, messages, read }, { selectedId = null, highlight = [] } = {}) {
    for (const [id, item] of this.#items) {
      if (!messages.has(id)) {
        item.remove();
        this.#items.delete(id);
      }
    }
    order.forEach((id, index) => {
      const summary = messages.get(id);
      let item = this.#items.get(id);
      if (!item) {
        item = this.#newItem(summary);
        this.#items.set(id, item);
      }
      const unread = !(summary.seen || read.has(id));
      this.#update(item.firstElementChild, summary, { unread, selected: id === selectedId });
      if (this.list.children[index] !== item) this.list.insertBefore(item, this.list.children[index] ?? null);
    });
    for (const id of highlight) this.#items.get(id)?.firstElementChild.classList.add("arrived");

    this.empty.hidden = order.length > 0;
    this.list.hidden = order.length === 0;
    this.count.textContent = order.length ? `(${order.length})` : "";
  }

  /** Focus a message's item; false when it is not in the list. */
  focus(id) {
    const button = this.#items.get(id)?.firstElementChild;
    button?.focus();
    return Boolean(button);
  }

  settle(id) {
    this.#items.get(id)?.firstElementChild.classList.remove("arrived");
  }

  #newItem(summary) {
    const button = h(
      "button",
      { type: "button", className: "message-item", dataset: { messageId: summary.id } },
      h("span", { className: "message-from" }),
      h("time", { className: "message-time" }),
      h("span", { className: "message-subject" }),
      h("span", { className: "message-preview" }),
      summary.has_attachments ? h("span", { className: "message-attachment" }, icon(ICONS.paperclip)) : null,
    );
    return h("li", {}, button);
  }

  #update(button, summary, { unread, selected }) {
    const received = parseDate(summary.received_at);
    const sender = senderName(summary.from);
    const subject = summary.subject || "(no subject)";
    button.classList.toggle("unread", unread);
    if (selected) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");

    const from = button.querySelector(".message-from");
    from.textContent = sender;
    from.title = summary.from ?? "";
    const time = button.querySelector(".message-time");
    time.textContent = formatRelative(received);
    time.dateTime = summary.received_at ?? "";
    time.title = formatFullDateTime(received);
    button.querySelector(".message-subject").textContent = subject;
    button.querySelector(".message-preview").textContent = summary.preview ?? "";
    // One sentence for screen readers instead of four fragments.
    const label = [unread ? "Unread." : "", `From ${sender}.`, subject, summary.has_attachments ? "Has attachments." : "", time.textContent];
    button.setAttribute("aria-label", label.filter(Boolean).join(" "));
  }

  /** Up and down arrows move between messages, as in a mail client. */
  #onKey(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = [...this.list.querySelectorAll(".message-item")];
    const index = buttons.indexOf(document.activeElement);
    if (index === -1) return;
    event.preventDefault();
    const next = index + (event.key === "ArrowDown" ? 1 : -1);
    buttons[Math.min(buttons.length - 1, Math.max(0, next))].focus();
  }
}
