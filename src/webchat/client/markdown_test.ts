import { assert, assertEquals } from "../../../tests/assert.ts";
import { type MdNode, parseMarkdown, safeHref, TAGS } from "./markdown.js";

/** Every element tag and href in a tree, for "nothing dangerous came out" checks. */
function walk(nodes: MdNode[], seen: { tags: string[]; hrefs: string[]; text: string[] }) {
  for (const n of nodes) {
    if (typeof n === "string") seen.text.push(n);
    else {
      seen.tags.push(n.tag);
      if (n.href !== undefined) seen.hrefs.push(n.href);
      walk(n.children, seen);
    }
  }
  return seen;
}

const scan = (md: string) => walk(parseMarkdown(md), { tags: [], hrefs: [], text: [] });

Deno.test("markdown: blocks, inline spans, code fences, lists, quotes", () => {
  assertEquals(parseMarkdown("# Title\n\nHello **bold** and *it* and `code`."), [
    { tag: "h1", children: ["Title"] },
    {
      tag: "p",
      children: [
        "Hello ",
        { tag: "strong", children: ["bold"] },
        " and ",
        { tag: "em", children: ["it"] },
        " and ",
        { tag: "code", children: ["code"] },
        ".",
      ],
    },
  ]);
  assertEquals(parseMarkdown("```ts\nconst a = 1;\n```"), [
    { tag: "pre", children: [{ tag: "code", children: ["const a = 1;"], lang: "ts" }] },
  ]);
  // Half-streamed fence: runs to the end.
  assertEquals(parseMarkdown("```\nopen"), [
    { tag: "pre", children: [{ tag: "code", children: ["open"] }] },
  ]);
  assertEquals(parseMarkdown("- a\n- b\n  - c"), [{
    tag: "ul",
    children: [
      { tag: "li", children: ["a"] },
      {
        tag: "li",
        children: [{ tag: "p", children: ["b"] }, {
          tag: "ul",
          children: [{ tag: "li", children: ["c"] }],
        }],
      },
    ],
  }]);
  assertEquals(scan("1. one\n2. two").tags, ["ol", "li", "li"]);
  assertEquals(scan("> quoted\n> more").tags, ["blockquote", "p", "br"]);
  assertEquals(scan("line one\nline two").tags, ["p", "br"]);
  assertEquals(scan("~~gone~~ ---").tags, ["p", "del"]);
  assertEquals(scan("a\n\n---\n\nb").tags, ["p", "hr", "p"]);
  assertEquals(scan("snake_case_name stays").tags, ["p"]);
});

Deno.test("markdown: links keep only http(s) and mailto", () => {
  assertEquals(scan("[site](https://example.com/a?b=1)").hrefs, ["https://example.com/a?b=1"]);
  assertEquals(scan("see https://example.com/x.").hrefs, ["https://example.com/x"]);
  assertEquals(scan("[mail](mailto:a@example.com)").hrefs, ["mailto:a@example.com"]);
  for (
    const bad of [
      "[click](javascript:alert(1))",
      "[click](JaVaScRiPt:alert(1))",
      "[click]( javascript:alert(1))",
      "[x](data:text/html;base64,PHNjcmlwdD4=)",
      "[x](vbscript:msgbox)",
      "[x](/relative)",
      "[x](//evil.example)",
    ]
  ) {
    const seen = scan(bad);
    assertEquals(seen.hrefs, [], bad);
    assert(!seen.tags.includes("a"), bad);
    assert(seen.text.join("").includes("x") || seen.text.join("").includes("click"), bad);
  }
  assertEquals(safeHref("javascript:alert(1)"), null);
  assertEquals(safeHref("https://ok.example/"), "https://ok.example/");
});

Deno.test("markdown: raw HTML is text, never a tag", () => {
  const hostile = [
    '<img src=x onerror="alert(1)">',
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    "<svg/onload=alert(1)>",
    '**<b onmouseover="alert(1)">bold</b>**',
    "```html\n<script>alert(1)</script>\n```",
  ];
  for (const h of hostile) {
    const seen = scan(h);
    for (const tag of seen.tags) assert(TAGS.has(tag), `${tag} from ${h}`);
    assert(!seen.tags.some((t) => ["img", "script", "iframe", "svg", "b"].includes(t)), h);
    assert(seen.text.join("").includes("<"), `the markup stays visible as text: ${h}`);
  }
});

Deno.test("markdown: hostile nesting and size stay bounded", () => {
  const deep = ">".repeat(5000) + " x\n" + "- ".repeat(2000) + "y\n" + "*".repeat(20000);
  const t0 = performance.now();
  parseMarkdown(deep);
  parseMarkdown("[".repeat(5000) + "](" + "(".repeat(5000));
  parseMarkdown("`".repeat(10000));
  // A delimiter at every position: the parser's windowing keeps this from going quadratic.
  for (const unit of ["**a ", "_a ", "~~a ", "*a ", "[a](", "`a "]) {
    parseMarkdown(unit.repeat(8000));
  }
  assert(performance.now() - t0 < 2000, "parsing hostile input stays fast");
});
