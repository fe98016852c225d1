/**
 * WhatsApp's text formatting: `*bold*`, `_italic_`, `~strike~`, `` `code` `` and
 * ```` ``` ```` blocks. The gateway's Markdown is rendered into it with the shared reader, and
 * split at WhatsApp's limit with the shared chunker.
 *
 * @module
 */
import { chunkRendered } from "../shared/chunk.ts";
import { type Dialect, parseMarkdown, render } from "../shared/markdown.ts";

/** WhatsApp has no escape character; nothing is escaped (formatting marks are literal text). */
export const WHATSAPP_DIALECT: Dialect = {
  text: (s) => s,
  bold: (inner) => `*${inner}*`,
  italic: (inner) => `_${inner}_`,
  strike: (inner) => `~${inner}~`,
  code: (s) => `\`${s}\``,
  link: (url, inner) => (inner && inner !== url ? `${inner} (${url})` : url),
  codeBlock: (_language, text) => `\`\`\`\n${text}\n\`\`\``,
  quote: (inner) => `> ${inner}`,
};

/** Renders Markdown `text` for WhatsApp and splits it into messages of at most `limit`. */
export function formatForWhatsApp(text: string, limit: number): string[] {
  return chunkRendered(text, limit, (md) => render(parseMarkdown(md), WHATSAPP_DIALECT));
}
