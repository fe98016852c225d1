// @ts-check
/**
 * A small Markdown parser for model output that returns a tree, never HTML. The page turns the
 * tree into DOM nodes with `createElement` and `textContent` from a fixed list of tags, so model
 * output (or anything a prompt injection makes the model say) cannot inject markup: raw HTML
 * in the input is just text. Links keep only http(s) and mailto URLs.
 *
 * Runs in the browser as-is (no build step) and in Deno for the unit tests.
 *
 * @module
 */

/**
 * @typedef {{ tag: string, children: MdNode[], href?: string, lang?: string }} MdElement
 * @typedef {string | MdElement} MdNode
 */

/** Tags the parser emits; the page refuses anything else. */
export const TAGS = new Set([
  "p",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "ul",
  "ol",
  "li",
  "blockquote",
  "pre",
  "code",
  "strong",
  "em",
  "del",
  "a",
  "br",
  "hr",
]);

/**
 * The URL to link to, or `null` when it is not an absolute http(s)/mailto URL.
 * @param {string} raw
 * @returns {string | null}
 */
export function safeHref(raw) {
  let url;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
}

/**
 * @param {string} tag
 * @param {MdNode[]} children
 * @returns {MdElement}
 */
function el(tag, children = []) {
  return { tag, children };
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])\s+(.*)$/;

/**
 * Parses Markdown into block nodes. An unclosed code fence runs to the end, which is what a
 * half-streamed answer needs.
 * @param {string} text
 * @returns {MdNode[]}
 */
export function parseMarkdown(text) {
  return blocks(text.replace(/\r\n?/g, "\n").split("\n"), 0);
}

/**
 * @param {string[]} lines
 * @param {number} depth nesting of quotes and lists, capped so hostile input cannot recurse deeply
 * @returns {MdNode[]}
 */
function blocks(lines, depth) {
  /** @type {MdNode[]} */
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "") {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(marker)) body.push(lines[i++]);
      i++; // the closing fence (or past the end)
      const code = el("code", [body.join("\n")]);
      if (fence[2]) code.lang = fence[2];
      out.push(el("pre", [code]));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      out.push(el(`h${heading[1].length}`, inline(heading[2])));
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push(el("hr"));
      i++;
      continue;
    }
    if (QUOTE.test(line) && depth < 8) {
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(QUOTE.exec(lines[i++])?.[1] ?? "");
      out.push(el("blockquote", blocks(body, depth + 1)));
      continue;
    }
    const item = ITEM.exec(line);
    if (item && depth < 8) {
      const ordered = /\d/.test(item[2]);
      const list = el(ordered ? "ol" : "ul");
      while (i < lines.length) {
        const m = ITEM.exec(lines[i]);
        if (!m || /\d/.test(m[2]) !== ordered || m[1].length > item[1].length) break;
        const body = [m[3]];
        i++;
        // Continuation: indented lines (nested lists too) and lazy paragraph lines.
        while (i < lines.length && lines[i].trim() !== "") {
          const next = lines[i];
          const nested = ITEM.exec(next);
          if (nested && nested[1].length <= item[1].length) break;
          if (!/^\s/.test(next) && (FENCE.test(next) || HEADING.test(next))) break;
          body.push(next.replace(/^ {1,4}/, ""));
          i++;
        }
        const content = blocks(body, depth + 1);
        // A one-paragraph item renders tight, without the <p>.
        const only = content.length === 1 ? content[0] : null;
        list.children.push(
          el(
            "li",
            typeof only === "object" && only?.tag === "p" ? only.children : content,
          ),
        );
        if (i < lines.length && lines[i].trim() === "" && ITEM.test(lines[i + 1] ?? "")) i++;
      }
      out.push(list);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() !== "") {
      const next = lines[i];
      if (
        para.length > 0 &&
        (FENCE.test(next) || HEADING.test(next) || QUOTE.test(next) || ITEM.test(next) ||
          RULE.test(next))
      ) break;
      para.push(next.trim());
      i++;
    }
    /** @type {MdNode[]} */
    const children = [];
    para.forEach((l, n) => {
      if (n > 0) children.push(el("br"));
      children.push(...inline(l));
    });
    out.push(el("p", children));
  }
  return out;
}

/** Characters that may start an inline construct; everything else is plain text. */
const SPECIAL = /[\\`*_~[h]/;
const AUTOLINK = /^https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"]/;

/**
 * Inline Markdown: code spans, emphasis, strikethrough, links and bare URLs.
 * @param {string} s
 * @param {number} depth
 * @returns {MdNode[]}
 */
export function inline(s, depth = 0) {
  /** @type {MdNode[]} */
  const out = [];
  let text = "";
  const flush = () => {
    if (text) out.push(text);
    text = "";
  };
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (!SPECIAL.test(ch)) {
      text += ch;
      i++;
      continue;
    }
    // A bounded window: spans longer than this render as plain text, and hostile input with a
    // delimiter at every position costs O(n * window) instead of O(n^2).
    const rest = s.slice(i, i + 2000);
    if (ch === "\\" && i + 1 < s.length && /[\\`*_{}[\]()#+\-.!~>|<]/.test(s[i + 1])) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (ch === "`") {
      const ticks = /^`+/.exec(rest)?.[0] ?? "`";
      const end = s.indexOf(ticks, i + ticks.length);
      if (end > 0) {
        flush();
        out.push(el("code", [s.slice(i + ticks.length, end).trim() || " "]));
        i = end + ticks.length;
        continue;
      }
      text += ticks;
      i += ticks.length;
      continue;
    }
    if (depth < 6) {
      const span = /^(\*\*|__)(?=\S)([\s\S]*?\S)\1/.exec(rest) ??
        /^(~~)(?=\S)([\s\S]*?\S)~~/.exec(rest) ??
        /^(\*)(?=[^\s*])([\s\S]*?[^\s*])\*(?!\*)/.exec(rest) ??
        (/\w/.test(s[i - 1] ?? "") ? null : /^(_)(?=\S)([\s\S]*?\S)_(?!\w)/.exec(rest));
      if (span) {
        flush();
        const tag = span[1] === "~~" ? "del" : span[1].length === 2 ? "strong" : "em";
        out.push(el(tag, inline(span[2], depth + 1)));
        i += span[0].length;
        continue;
      }
      const link =
        /^\[([^\]\n]{1,1000})\]\(\s*<?([^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)>?(?:\s+"[^"]*")?\s*\)/
          .exec(rest);
      if (link) {
        flush();
        const href = safeHref(link[2]);
        if (href) {
          const a = el("a", inline(link[1], depth + 1));
          a.href = href;
          out.push(a);
        } else {
          // Not a URL we link to (javascript:, data:, relative...): keep it visible as text.
          out.push(...inline(link[1], depth + 1), ` (${link[2]})`);
        }
        i += link[0].length;
        continue;
      }
    }
    const auto = /\w/.test(s[i - 1] ?? "") ? null : AUTOLINK.exec(rest);
    if (auto) {
      const href = safeHref(auto[0]);
      if (href) {
        flush();
        const a = el("a", [auto[0]]);
        a.href = href;
        out.push(a);
        i += auto[0].length;
        continue;
      }
    }
    text += ch;
    i++;
  }
  flush();
  return out;
}
