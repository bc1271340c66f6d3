/**
 * Tiny DOM helpers. Every piece of text from the server goes through
 * textContent (via `h`), never through innerHTML.
 */

/**
 * Create an element: h("a", {href: url, className: "link"}, "text", childNode).
 * Attributes whose value is null, undefined or false are left out; `true` sets an empty attribute.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** Build an inline SVG icon from path data; decorative, so hidden from assistive technology. */
export function icon(pathData, className = "icon") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", pathData);
  svg.append(path);
  return svg;
}

export const ICONS = {
  paperclip: "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5",
  copy: "M9 9h10v12H9zM5 15H4V3h12v1",
  check: "M4 12.5l5 5L20 6.5",
  download: "M12 3v12m-5-5l5 5 5-5M4 20h16",
};

/** Look up an element that index.html is known to contain; fail loudly if the markup changed. */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no element #${id}`);
  return element;
}

/**
 * Put text on the clipboard; false when the browser would not. Without the Clipboard API
 * (plain http on a LAN address is not a secure context) it copies a selected scratch element.
 */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const scratch = h("textarea", { readonly: true, "aria-hidden": "true", className: "visually-hidden" });
    scratch.value = text;
    const focused = document.activeElement;
    document.body.append(scratch);
    scratch.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    } finally {
      scratch.remove();
      focused?.focus?.({ preventScroll: true });
    }
  }
}

/** Select the text of an element, so that the person can copy it themselves. */
export function selectContents(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

/**
 * Save bytes as a file: an object URL on a temporary <a download>. Used for
 * attachments and raw sources, which need the bearer token and so cannot be plain links.
 */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename || "download", hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by the time click() returns, but revoking at once races in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Turn http(s) URLs in plain text into links that open in a new tab; everything else stays text. */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  const pattern = /\bhttps?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]]/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    fragment.append(text.slice(last, match.index));
    fragment.append(h("a", { href: match[0], target: "_blank", rel: "noopener noreferrer" }, match[0]));
    last = match.index + match[0].length;
  }
  fragment.append(text.slice(last));
  return fragment;
}
