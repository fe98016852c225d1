/**
 * Markdown -> Slack mrkdwn. Slack's control sequences all start with `<` (`<!channel>`,
 * `<!here>`, `<@U123>`, `<#C1>`, `<url|text>`), and Slack's own escaping is `&amp;`, `&lt;`,
 * `&gt;`: escaping those three in every text run and code span means the model cannot ping a
 * channel, mention a user or forge a link. The only `<...>` in the output are links this module
 * writes, for http(s) URLs only.
 *
 * @module
 */
import { chunkRendered } from "../shared/chunk.ts";
import { type Dialect, parseMarkdown, render } from "../shared/markdown.ts";

/** Escapes text for Slack mrkdwn. */
export function escapeSlack(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Slack's mrkdwn dialect. */
export const slackDialect: Dialect = {
  text: escapeSlack,
  bold: (s) => `*${s}*`,
  italic: (s) => `_${s}_`,
  strike: (s) => `~${s}~`,
  code: (s) => `\`${escapeSlack(s).replaceAll("`", "ˋ")}\``,
  link: (url, s) => `<${escapeSlack(url).replaceAll("|", "%7C")}|${s.replaceAll("|", "¦")}>`,
  codeBlock: (_lang, text) => `\`\`\`\n${escapeSlack(text).replaceAll("```", "`\u200b``")}\n\`\`\``,
  quote: (s) => `> ${s}`,
};

/** Renders Markdown as Slack mrkdwn. */
export function toSlack(markdown: string): string {
  return render(parseMarkdown(markdown), slackDialect);
}

/**
 * Renders and splits `markdown` for Slack. `chat.postMessage` accepts 40,000 characters but
 * Slack recommends at most 4,000 per message for display; parts stay under that.
 */
export function formatSlack(markdown: string, limit = 4000): string[] {
  return chunkRendered(markdown, limit, toSlack);
}
