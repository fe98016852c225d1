/**
 * Matrix message formatting: the gateway's Markdown goes out as `body` (plain Markdown, for
 * clients without HTML) plus `formatted_body` in `org.matrix.custom.html`, rendered with the
 * shared Markdown reader and escaped, so nothing the model writes becomes live markup.
 *
 * @module
 */
import { chunkMarkdown } from "../shared/chunk.ts";
import { type Dialect, parseMarkdown, render } from "../shared/markdown.ts";

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** The Matrix HTML subset the spec recommends clients support. */
export const MATRIX_HTML: Dialect = {
  text: escapeHtml,
  bold: (inner) => `<strong>${inner}</strong>`,
  italic: (inner) => `<em>${inner}</em>`,
  strike: (inner) => `<del>${inner}</del>`,
  code: (s) => `<code>${escapeHtml(s)}</code>`,
  // Only web links become anchors; `javascript:` and friends stay text.
  link: (url, inner) =>
    /^https?:\/\//i.test(url) ? `<a href="${escapeHtml(url)}">${inner}</a>` : inner,
  codeBlock: (language, text) =>
    `<pre><code${/^[\w+-]{1,32}$/.test(language) ? ` class="language-${language}"` : ""}>${
      escapeHtml(text)
    }</code></pre>`,
  quote: (inner) => `<blockquote>${inner}</blockquote>`,
};

/** HTML of one Markdown part (line breaks kept). */
export function toHtml(markdown: string): string {
  return render(parseMarkdown(markdown), MATRIX_HTML).replace(
    /\n(?![^<]*<\/code><\/pre>)/g,
    "<br>",
  );
}

/** One Matrix message: Markdown body and its HTML. */
export interface MatrixText {
  body: string;
  html: string;
}

/**
 * Splits Markdown `text` into parts of at most half of `limit` and renders each: body and HTML
 * share one event (capped at 64 KiB), and a part whose HTML still exceeds `limit` (heavy
 * escaping) goes as plain body only.
 */
export function formatForMatrix(text: string, limit: number): MatrixText[] {
  return chunkMarkdown(text, Math.floor(limit / 2)).map((body) => {
    const html = toHtml(body);
    return { body, html: html.length <= limit ? html : "" };
  });
}
