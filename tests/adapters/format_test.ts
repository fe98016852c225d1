/**
 * The three platform renderers against nasty input: random mixes of markup characters,
 * unbalanced markers, code fences, platform control sequences, emoji, up to 10 KB. Whatever
 * the model writes, every part fits the platform limit, Telegram gets well-formed HTML with
 * only our tags, Slack gets no control sequence (`<!channel>`, `<@U..>`) and Discord no live
 * mass mention.
 */
import { assert } from "../assert.ts";
import { formatTelegram } from "../../adapters/telegram/format.ts";
import { formatDiscord } from "../../adapters/discord/format.ts";
import { formatSlack } from "../../adapters/slack/format.ts";

const PIECES = [
  "<",
  ">",
  "&",
  "*",
  "**",
  "_",
  "__",
  "`",
  "\n```js\n",
  "\n```\n",
  "~~",
  "[",
  "](",
  ")",
  "\n",
  "\n\n",
  "😀",
  "👩‍👩‍👧",
  "@everyone",
  "@here",
  "<!channel>",
  "<@U123>",
  "<b>",
  "</pre>",
  "&amp;",
  "# ",
  "- ",
  "> ",
  "word",
  " ",
  "https://example.com/a_b",
  "[link](https://e.com)",
  "||",
  "\\",
];

function nasty(seed: number, size: number): string {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) & 0x7fffffff);
  let s = "";
  while (s.length < size) s += PIECES[next() % PIECES.length];
  return s;
}

const TELEGRAM_TAGS = new Set(["b", "i", "s", "code", "pre", "a", "blockquote"]);

function checkTelegramHtml(html: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([a-z]+)((?: [a-z]+="[^"<>]*")*)>/g;
  let last = 0;
  for (const m of html.matchAll(tag)) {
    const between = html.slice(last, m.index);
    assert(!/[<>]/.test(between), `raw angle bracket in ${JSON.stringify(between)}`);
    assert(TELEGRAM_TAGS.has(m[2]), `unexpected tag ${m[0]}`);
    if (m[1]) assert(stack.pop() === m[2], `unbalanced </${m[2]}>`);
    else stack.push(m[2]);
    last = m.index + m[0].length;
  }
  assert(!/[<>]/.test(html.slice(last)), "raw angle bracket at the end");
  assert(stack.length === 0, `unclosed ${stack.join(",")}`);
  assert(!/&(?!amp;|lt;|gt;|quot;)/.test(html), "bare ampersand");
}

Deno.test("formatting: 300 nasty inputs up to 10 KB render safely on all three platforms", () => {
  for (let i = 0; i < 300; i++) {
    const text = nasty(i + 1, i < 290 ? 1 + (i * 37) % 2000 : 10_240);
    for (const part of formatTelegram(text, 4096)) {
      assert(part.length <= 4096, `telegram part of ${part.length}`);
      checkTelegramHtml(part);
    }
    for (const part of formatDiscord(text, 2000)) {
      assert(part.length <= 2000, `discord part of ${part.length}`);
      assert(!/@(everyone|here)/.test(part), "live mass mention");
    }
    for (const part of formatSlack(text, 4000)) {
      assert(part.length <= 4000, `slack part of ${part.length}`);
      // The only `<...>` left are our links, which start with http(s).
      for (const m of part.matchAll(/<([^>]*)>/g)) {
        assert(/^https?:\/\//.test(m[1]), `control sequence ${m[0]}`);
      }
      assert(!part.includes("<!"), "<! survived");
    }
  }
});

Deno.test("formatting: text survives (no content is lost by escaping or splitting)", () => {
  const text = "Ünïcödé 😀 and <tags> & *stars* in a long line. ".repeat(300);
  const plain = (s: string) =>
    s.replace(/<[^>]+>/g, "").replaceAll("&lt;", "<").replaceAll("&gt;", ">")
      .replaceAll("&amp;", "&").replace(/\s+/g, "");
  const joined = formatTelegram(text).join("");
  assert(plain(joined).includes("Ünïcödé😀and<tags>&starsinalongline.".repeat(20)));
  assert(joined.split("😀").length - 1 === 300, "every emoji kept");
});
