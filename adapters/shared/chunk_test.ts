import { assert, assertEquals } from "../../tests/assert.ts";
import { chunkMarkdown, chunkRendered } from "./chunk.ts";
import { buttonData, parseButtonData } from "./approvals.ts";
import { joinConversation, shouldAnswer, splitConversation } from "./conventions.ts";
import { parseInline, parseMarkdown, plainText } from "./markdown.ts";

Deno.test("chunkMarkdown keeps short text whole and splits on paragraphs first", () => {
  assertEquals(chunkMarkdown("hello", 100), ["hello"]);
  const a = "a".repeat(60);
  const b = "b".repeat(60);
  assertEquals(chunkMarkdown(`${a}\n\n${b}`, 100), [a, b]);
  const line = "word ".repeat(100).trim();
  for (const p of chunkMarkdown(line, 50)) assert(p.length <= 50 && !p.startsWith(" "), p);
});

Deno.test("chunkMarkdown reopens a code fence split across parts", () => {
  const code = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n");
  const parts = chunkMarkdown("intro\n\n```ts\n" + code + "\n```\nafter", 100);
  assert(parts.length > 2);
  for (const p of parts) {
    assert(p.length <= 100, `${p.length}`);
    const fences = p.split("\n").filter((l) => l.startsWith("```")).length;
    assertEquals(fences % 2, 0, p);
  }
  assert(parts[1].startsWith("```ts\n"));
});

Deno.test("chunkMarkdown never splits a surrogate pair, and 10 KB fits", () => {
  const emoji = "😀".repeat(3000);
  const parts = chunkMarkdown(emoji, 101);
  assertEquals(parts.join(""), emoji);
  for (const p of parts) assert(!/[\ud800-\udbff]$/.test(p) && !/^[\udc00-\udfff]/.test(p));
  const big = "x".repeat(10_240);
  assertEquals(chunkMarkdown(big, 4096).join(""), big);
});

Deno.test("chunkRendered shrinks parts whose escaping made them too long", () => {
  const text = "<&>".repeat(2000);
  const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const parts = chunkRendered(text, 500, esc);
  for (const p of parts) assert(p.length <= 500, `${p.length}`);
  assertEquals(parts.join(""), esc(text));
});

Deno.test("markdown: unbalanced markers are plain text", () => {
  assertEquals(plainText(parseInline("**bold")), "**bold");
  assertEquals(plainText(parseInline("a * b * c")), "a * b * c");
  assertEquals(plainText(parseInline("snake_case_name")), "snake_case_name");
  assertEquals(plainText(parseInline("`open")), "`open");
  assertEquals(parseInline("**b** and *i* and `c`").map((n) => n.kind), [
    "bold",
    "text",
    "italic",
    "text",
    "code",
  ]);
  const link = parseInline("[x](javascript:alert(1))");
  assertEquals(link.map((n) => n.kind), ["text"]);
  const blocks = parseMarkdown("# T\n- item\n```js\nlet a = 1;\n");
  assertEquals(blocks.map((b) => b.kind), ["line", "line", "code"]);
});

Deno.test("conventions: groups answer only when addressed; conversation ids round-trip", () => {
  const base = { isGroup: true, mentioned: false, repliedToBot: false, fromBot: false };
  assertEquals(shouldAnswer(base), false);
  assertEquals(shouldAnswer({ ...base, mentioned: true }), true);
  assertEquals(shouldAnswer({ ...base, isGroup: false }), true);
  assertEquals(shouldAnswer({ ...base, isGroup: false, fromBot: true }), false);
  assertEquals(shouldAnswer(base, "all"), true);
  assertEquals(splitConversation(joinConversation("-100123", 7)), { chat: "-100123", thread: "7" });
  assertEquals(splitConversation("C1"), { chat: "C1", thread: null });
});

Deno.test("approval button data parses back and rejects anything else", () => {
  assertEquals(parseButtonData(buttonData("abcdefgh12", "approve")), {
    token: "abcdefgh12",
    decision: "approve",
  });
  assertEquals(parseButtonData("wk1:a:short"), null);
  assertEquals(parseButtonData("approve abc"), null);
});
