/**
 * Markdown -> Discord markdown. Discord speaks Markdown already, so the work is escaping: every
 * text run has Discord's markup characters backslash-escaped, and mass or user mentions are
 * broken with a zero-width space (`@everyone`, `@here`, `<@id>`, `<#id>`, `<@&role>`), on top
 * of `allowed_mentions: { parse: [] }` on every message, so the model can never ping anyone.
 *
 * @module
 */
import { chunkRendered } from "../shared/chunk.ts";
import { type Dialect, parseMarkdown, render } from "../shared/markdown.ts";

const ZWSP = "\u200b";

/** Escapes a text run for Discord. */
export function escapeDiscord(s: string): string {
  return s
    .replace(/[\\*_~`|<>[\]]/g, (c) => `\\${c}`)
    // Headings, lists and quotes only start a line.
    .replace(/^(\s*)([#\-+])/, "$1\\$2")
    .replace(/@(everyone|here)/gi, `@${ZWSP}$1`);
}

/** Code spans cannot contain backslash escapes; only mass mentions need breaking there. */
function safeCode(s: string): string {
  return s.replace(/@(everyone|here)/gi, `@${ZWSP}$1`).replaceAll("`", "ˋ");
}

/** Discord's dialect. */
export const discordDialect: Dialect = {
  text: escapeDiscord,
  bold: (s) => `**${s}**`,
  italic: (s) => `*${s}*`,
  strike: (s) => `~~${s}~~`,
  code: (s) => `\`${safeCode(s)}\``,
  // Angle brackets suppress the link preview embed.
  link: (url, s) => `[${s}](<${url.replace(/[<>)\s]/g, encodeURIComponent)}>)`,
  codeBlock: (lang, text) =>
    `\`\`\`${lang.replace(/[^\w+#.-]/g, "")}\n${
      text.replace(/@(everyone|here)/gi, `@${ZWSP}$1`).replaceAll("```", "`\u200b``")
    }\n\`\`\``,
  quote: (s) => `> ${s}`,
};

/** Renders Markdown for Discord. */
export function toDiscord(markdown: string): string {
  return render(parseMarkdown(markdown), discordDialect);
}

/** Renders and splits `markdown` into messages of at most `limit` characters (2000). */
export function formatDiscord(markdown: string, limit = 2000): string[] {
  return chunkRendered(markdown, limit, toDiscord);
}
