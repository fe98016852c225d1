import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import type { ToolContext } from "./types.ts";
import { htmlToText, isNonPublicAddress, type WebToolOptions, webTools } from "./web.ts";

const ctx: ToolContext = {
  agentId: "a",
  sessionId: "s",
  channel: "webchat",
  sender: "u",
  signal: new AbortController().signal,
};

type Handler = (url: URL, init: RequestInit) => Response | Promise<Response>;

function tools(handler: Handler, over: Partial<WebToolOptions> = {}) {
  const seen: URL[] = [];
  const fetchFake = ((input: URL | string, init?: RequestInit) => {
    const url = new URL(String(input));
    seen.push(url);
    return Promise.resolve(handler(url, init ?? {}));
  }) as typeof fetch;
  const [search, fetchTool] = webTools({
    maxBytes: 1000,
    timeoutMs: 500,
    fetch: fetchFake,
    resolveHost: (host) =>
      Promise.resolve(host === "evil.example" ? ["10.0.0.5"] : ["93.184.216.34"]),
    ...over,
  });
  return {
    seen,
    search: (input: unknown) => search.run(search.inputSchema.parse(input), ctx),
    fetch: (input: unknown) => fetchTool.run(fetchTool.inputSchema.parse(input), ctx),
  };
}

Deno.test("web_search: a clear error when no backend is configured", async () => {
  const t = tools(() => new Response("unused"));
  const r = await t.search({ query: "x" });
  assertEquals(r.isError, true);
  assertStringIncludes(r.content, "tools.webSearch");
  assertEquals(t.seen.length, 0);
});

Deno.test("web_search: SearXNG and Brave backends", async () => {
  const searx = tools((url) => {
    assertEquals(url.searchParams.get("format"), "json");
    assertEquals(url.searchParams.get("q"), "deno sandbox");
    return Response.json({
      results: [{ title: "Deno &amp; you", url: "https://deno.com", content: "<b>fast</b>" }],
    });
  }, { search: { kind: "searxng", url: "http://127.0.0.1:8888" } });
  const r = await searx.search({ query: "deno sandbox" });
  assertEquals(r.content, "1. Deno & you\n   https://deno.com\n   fast");
  let token = "";
  const brave = tools((_url, init) => {
    token = new Headers(init.headers).get("x-subscription-token") ?? "";
    return Response.json({
      web: { results: [{ title: "B", url: "https://b.example", description: "d" }] },
    });
  }, {
    search: {
      kind: "brave",
      url: "https://api.search.brave.com/res/v1/web/search",
      credential: "brave.key",
    },
    getCredential: (name) => Promise.resolve(name === "brave.key" ? "secret-token" : ""),
  });
  assertStringIncludes((await brave.search({ query: "q" })).content, "https://b.example");
  assertEquals(token, "secret-token");
});

Deno.test("web_fetch: only public https URLs are fetched", async () => {
  const t = tools(() => new Response("never"));
  for (
    const url of [
      "http://example.com/",
      "file:///etc/passwd",
      "ftp://example.com/",
      "https://user:pw@example.com/",
      "https://localhost/",
      "https://127.0.0.1/",
      "https://169.254.169.254/latest/meta-data/",
      "https://10.1.2.3/",
      "https://192.168.1.1/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://[fd00::1]/",
      "https://evil.example/",
      "https://printer.local/",
      "not a url",
    ]
  ) {
    const r = await t.fetch({ url });
    assertEquals(r.isError, true, url);
    assertStringIncludes(r.content, "Refused", url);
  }
  assertEquals(t.seen.length, 0, "nothing was requested");
});

Deno.test("web_fetch: redirects are re-checked (no https->http, no private hops, at most 5)", async () => {
  const toHttp = tools(() =>
    new Response(null, { status: 302, headers: { location: "http://example.com/" } })
  );
  assertStringIncludes(
    (await toHttp.fetch({ url: "https://example.com/" })).content,
    "only https://",
  );
  const toPrivate = tools(() =>
    new Response(null, { status: 301, headers: { location: "https://127.0.0.1/admin" } })
  );
  assertStringIncludes(
    (await toPrivate.fetch({ url: "https://example.com/" })).content,
    "not a public address",
  );
  const loop = tools((url) =>
    new Response(null, {
      status: 302,
      headers: { location: `https://example.com/${Number(url.pathname.slice(1) || 0) + 1}` },
    })
  );
  const r = await loop.fetch({ url: "https://example.com/0" });
  assertStringIncludes(r.content, "more than 5 redirects");
  assertEquals(loop.seen.length, 6);
});

Deno.test("web_fetch: HTML becomes text; size and time are capped; binaries are not shown", async () => {
  const page = tools(() =>
    new Response(
      "<html><head><title>T &amp; C</title><script>alert(1)</script></head><body><h1>Hi</h1><p>a&nbsp;b</p><style>x{}</style></body></html>",
      { headers: { "content-type": "text/html; charset=utf-8" } },
    )
  );
  const r = await page.fetch({ url: "https://example.com/" });
  assertEquals(r.content, "HTTP 200 https://example.com/\n# T & C\nHi\na b");
  const big = tools(() =>
    new Response("z".repeat(5000), { headers: { "content-type": "text/plain" } })
  );
  const b = await big.fetch({ url: "https://example.com/big" });
  assertStringIncludes(b.content, "[truncated at 1000 bytes]");
  assertEquals(b.content.split("\n")[1].length, 1000);
  const slow = tools((_u, init) =>
    new Promise<Response>((_resolve, reject) => {
      init.signal?.addEventListener(
        "abort",
        () => reject(new DOMException("aborted", "AbortError")),
      );
    })
  );
  const started = performance.now();
  const s = await slow.fetch({ url: "https://example.com/slow" });
  assertStringIncludes(s.content, "no complete answer within 500 ms");
  assert(performance.now() - started < 3000);
  const bin = tools(() =>
    new Response(new Uint8Array([0, 1, 2]), { headers: { "content-type": "image/png" } })
  );
  assertStringIncludes(
    (await bin.fetch({ url: "https://example.com/x.png" })).content,
    "image/png; not shown",
  );
});

Deno.test("address classification and HTML extraction", () => {
  for (
    const a of [
      "127.0.0.1",
      "10.0.0.1",
      "172.16.5.4",
      "192.168.0.1",
      "169.254.169.254",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fc00::1",
      "100.64.0.1",
      "224.0.0.1",
    ]
  ) {
    assert(isNonPublicAddress(a), a);
  }
  for (const a of ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "172.32.0.1"]) {
    assert(!isNonPublicAddress(a), a);
  }
  assertEquals(htmlToText("<ul><li>one</li><li>two</li></ul>&#65;&#x42;").text, "- one\n- two\nAB");
});
