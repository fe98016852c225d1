/**
 * Splitting long answers into platform-sized messages. Splits fall on the best boundary that
 * fits: a blank line (paragraph), then a line break, then a space, then anywhere (never inside
 * a UTF-16 surrogate pair, so emoji survive). A split inside a fenced code block closes the
 * fence at the end of one part and reopens it (same language) at the start of the next, so
 * every part renders as code.
 *
 * Lengths are UTF-16 code units (JavaScript's `length`), which is what Telegram and Discord
 * count; it never undercounts characters.
 *
 * @module
 */

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;

/** Splits Markdown `text` into parts of at most `limit` UTF-16 units each. */
export function chunkMarkdown(text: string, limit: number): string[] {
  if (limit < 16) throw new RangeError("chunk limit too small");
  const parts: string[] = [];
  let rest = text;
  let reopen = "";
  while (rest.length > 0) {
    const candidate = reopen + rest;
    if (candidate.length <= limit) {
      parts.push(candidate);
      break;
    }
    // Room for a closing fence we may have to add.
    const room = limit - reopen.length - 4;
    if (room < 8) throw new RangeError("chunk limit too small for this code fence");
    const cut = bestCut(rest, room);
    const piece = rest.slice(0, cut).replace(/\s+$/, "");
    rest = rest.slice(cut).replace(/^\n+/, "");
    const open = openFence(reopen + piece);
    parts.push(open ? `${reopen}${piece}\n${open.marker}` : reopen + piece);
    reopen = open ? `${open.marker}${open.language}\n` : "";
  }
  return parts.filter((p) => p.trim().length > 0);
}

/** The fence still open at the end of `text`, if any. */
function openFence(text: string): { marker: string; language: string } | null {
  let open: { marker: string; language: string } | null = null;
  for (const line of text.split("\n")) {
    const m = FENCE.exec(line);
    if (!m) continue;
    if (!open) open = { marker: m[1], language: m[2] };
    else if (m[1][0] === open.marker[0] && m[1].length >= open.marker.length && !m[2]) open = null;
  }
  return open;
}

/** Where to cut `s` so that the first part is at most `max` units. */
function bestCut(s: string, max: number): number {
  const window = s.slice(0, max + 1);
  // Do not accept a boundary in the first third: it would make many tiny messages.
  const floor = Math.floor(max / 3);
  for (const sep of ["\n\n", "\n", " "]) {
    const at = window.lastIndexOf(sep, max - sep.length + 1);
    if (at > floor) return at + sep.length;
  }
  let cut = max;
  const code = s.charCodeAt(cut - 1);
  // Never separate the two halves of a surrogate pair.
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return cut;
}

/**
 * Splits Markdown `text` and renders each part with `render`, so that every rendered part
 * fits `limit`. Escaping makes rendered text longer than its source; a part that grew past the
 * limit is split again, smaller, until it fits.
 */
export function chunkRendered(
  text: string,
  limit: number,
  render: (markdown: string) => string,
): string[] {
  const out: string[] = [];
  const visit = (part: string) => {
    const rendered = render(part);
    if (rendered.length <= limit) {
      if (rendered.trim()) out.push(rendered);
      return;
    }
    const smaller = Math.floor(part.length * (limit / rendered.length) * 0.9);
    if (smaller < 32) {
      // Cannot shrink further (pathological expansion): cut the rendered text itself.
      for (const p of chunkMarkdown(rendered, limit)) out.push(p);
      return;
    }
    for (const sub of chunkMarkdown(part, smaller)) visit(sub);
  };
  for (const part of chunkMarkdown(text, limit)) visit(part);
  return out;
}
