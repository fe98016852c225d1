/**
 * Markdown -> Telegram HTML (`parse_mode: "HTML"`). HTML is chosen over MarkdownV2 because its
 * escaping is three characters (`&`, `<`, `>`) instead of eighteen, so nothing the model
 * writes can open an entity by accident: every text run and code span is escaped, and the only
 * tags in the output are the ones this module writes.
 *
 * @module
 */
import { chunkRendered } from "../shared/chunk.ts";
import { type Dialect, parseMarkdown, render } from "../shared/markdown.ts";

/** Escapes text for Telegram HTML. */
export function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

const attr = (s: string) => escapeHtml(s).replaceAll('"', "&quot;");

/** Telegram's HTML dialect. */
export const telegramDialect: Dialect = {
  text: escapeHtml,
  bold: (s) => `<b>${s}</b>`,
  italic: (s) => `<i>${s}</i>`,
  strike: (s) => `<s>${s}</s>`,
  code: (s) => `<code>${escapeHtml(s)}</code>`,
  link: (url, s) => `<a href="${attr(url)}">${s}</a>`,
  codeBlock: (lang, text) => {
    const l = lang.replace(/[^\w+#.-]/g, "");
    return l
      ? `<pre><code class="language-${l}">${escapeHtml(text)}</code></pre>`
      : `<pre>${escapeHtml(text)}</pre>`;
  },
  quote: (s) => `<blockquote>${s}</blockquote>`,
};

/** Renders Markdown as Telegram HTML. */
export function toTelegramHtml(markdown: string): string {
  return render(parseMarkdown(markdown), telegramDialect);
}

/** Renders and splits `markdown` into messages of at most `limit` characters (4096). */
export function formatTelegram(markdown: string, limit = 4096): string[] {
  return chunkRendered(markdown, limit, toTelegramHtml);
}
