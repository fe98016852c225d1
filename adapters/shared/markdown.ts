/**
 * A small, total Markdown reader for model answers, shared by every adapter. The model writes
 * CommonMark-ish text; each platform wants its own dialect (Telegram HTML, Discord markdown,
 * Slack mrkdwn). Adapters parse once into this tree and render it with their own escaping, so
 * no byte of the model's text ever reaches a platform unescaped.
 *
 * Deliberately forgiving: anything that does not close (an unbalanced `**`, a lone backtick,
 * an unterminated code fence) is plain text, never an error, so a nasty input renders as
 * itself instead of being dropped or breaking the platform's parser.
 *
 * @module
 */

/** An inline piece of a line. */
export type Inline =
  | { kind: "text"; text: string }
  | { kind: "bold"; children: Inline[] }
  | { kind: "italic"; children: Inline[] }
  | { kind: "strike"; children: Inline[] }
  | { kind: "code"; text: string }
  | { kind: "link"; url: string; children: Inline[] };

/** One block of a document. */
export type Block =
  /** One source line; headings become bold lines, bullets get a `•`. */
  | {
    kind: "line";
    quote: boolean;
    heading: boolean;
    /** The indentation of a list item (`- x`), or `null` when the line is not one. */
    bullet: string | null;
    inlines: Inline[];
  }
  /** A fenced code block; `language` is empty when not given. */
  | { kind: "code"; language: string; text: string };

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;

/** Parses `source` into blocks; never throws. */
export function parseMarkdown(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i]);
    if (fence) {
      const marker = fence[1];
      let end = -1;
      for (let j = i + 1; j < lines.length; j++) {
        const close = lines[j].trim();
        if (close.startsWith(marker[0].repeat(marker.length)) && /^(`+|~+)$/.test(close)) {
          end = j;
          break;
        }
      }
      // An unterminated fence runs to the end, as in CommonMark.
      const stop = end === -1 ? lines.length : end;
      blocks.push({ kind: "code", language: fence[2], text: lines.slice(i + 1, stop).join("\n") });
      i = stop;
      continue;
    }
    blocks.push(parseLine(lines[i]));
  }
  return blocks;
}

function parseLine(raw: string): Block {
  let line = raw;
  let quote = false;
  let heading = false;
  let bullet: string | null = null;
  const q = /^ {0,3}> ?(.*)$/.exec(line);
  if (q) {
    quote = true;
    line = q[1];
  }
  const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  if (h) {
    heading = true;
    line = h[1];
  }
  const b = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (!heading && b && !/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
    bullet = b[1];
    line = b[2];
  }
  return { kind: "line", quote, heading, bullet, inlines: parseInline(line) };
}

const isSpace = (c: string | undefined) => c === undefined || /\s/.test(c);
const isWord = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

/** Parses the inline syntax of one line. */
export function parseInline(s: string): Inline[] {
  const out: Inline[] = [];
  let text = "";
  const flush = () => {
    if (text) out.push({ kind: "text", text });
    text = "";
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length && /[\\`*_~[\]()#>+\-.!|]/.test(s[i + 1])) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      let n = 1;
      while (s[i + n] === "`") n++;
      const ticks = "`".repeat(n);
      const end = s.indexOf(ticks, i + n);
      if (end !== -1 && s[end + n] !== "`") {
        flush();
        let code = s.slice(i + n, end);
        if (code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
        out.push({ kind: "code", text: code });
        i = end + n;
        continue;
      }
      text += ticks;
      i += n;
      continue;
    }
    const pair = s.slice(i, i + 2);
    if (pair === "**" || pair === "__" || pair === "~~") {
      const end = closing(s, pair, i + 2);
      if (end !== -1) {
        flush();
        const kind = pair === "~~" ? "strike" : "bold";
        out.push({ kind, children: parseInline(s.slice(i + 2, end)) });
        i = end + 2;
        continue;
      }
      text += pair;
      i += 2;
      continue;
    }
    if (c === "*" || (c === "_" && !isWord(s[i - 1]))) {
      const end = closing(s, c, i + 1);
      if (end !== -1 && (c === "*" || !isWord(s[end + 1]))) {
        flush();
        out.push({ kind: "italic", children: parseInline(s.slice(i + 1, end)) });
        i = end + 1;
        continue;
      }
    }
    if (c === "[") {
      const m = /^\[([^\]\n]+)\]\((\S+?)\)/.exec(s.slice(i));
      if (m && /^https?:\/\//i.test(m[2])) {
        flush();
        out.push({ kind: "link", url: m[2], children: parseInline(m[1]) });
        i += m[0].length;
        continue;
      }
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

/** Index of the delimiter closing one opened before `from`, or -1. */
function closing(s: string, delim: string, from: number): number {
  if (isSpace(s[from])) return -1;
  let j = from;
  while ((j = s.indexOf(delim, j + 1)) !== -1) {
    // A single `*` must not match half of a `**`.
    if (delim.length === 1 && (s[j + 1] === delim || s[j - 1] === delim)) continue;
    if (!isSpace(s[j - 1])) return j;
  }
  return -1;
}

/** The text of `inlines` without any formatting (for previews and length estimates). */
export function plainText(inlines: readonly Inline[]): string {
  return inlines.map((n) => n.kind === "text" || n.kind === "code" ? n.text : plainText(n.children))
    .join("");
}

/** How one platform spells each construct; text and code are escaped by the platform. */
export interface Dialect {
  text(s: string): string;
  bold(inner: string): string;
  italic(inner: string): string;
  strike(inner: string): string;
  code(s: string): string;
  link(url: string, inner: string): string;
  codeBlock(language: string, text: string): string;
  /** Prefix of a quoted line (already escaped). */
  quote(inner: string): string;
}

/** Renders parsed blocks with `dialect`; one source line per output line. */
export function render(blocks: readonly Block[], dialect: Dialect): string {
  const inl = (nodes: readonly Inline[]): string =>
    nodes.map((n) => {
      switch (n.kind) {
        case "text":
          return dialect.text(n.text);
        case "code":
          return dialect.code(n.text);
        case "bold":
          return dialect.bold(inl(n.children));
        case "italic":
          return dialect.italic(inl(n.children));
        case "strike":
          return dialect.strike(inl(n.children));
        case "link":
          return dialect.link(n.url, inl(n.children));
      }
    }).join("");
  return blocks.map((b) => {
    if (b.kind === "code") return dialect.codeBlock(b.language, b.text);
    let line = inl(b.inlines);
    if (b.heading && line) line = dialect.bold(line);
    if (b.bullet !== null) line = `${b.bullet}• ${line}`;
    return b.quote ? dialect.quote(line) : line;
  }).join("\n");
}
