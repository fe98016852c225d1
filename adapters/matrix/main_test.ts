import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { formatForMatrix, toHtml } from "./format.ts";
import { settingsFromEnv } from "./main.ts";

const env = (o: Record<string, string>) => ({ get: (n: string) => o[n] });

Deno.test("matrix settings: HTTPS homeserver unless loopback; invite allow-list; group mode", () => {
  assertEquals(settingsFromEnv(env({})).homeserver, "https://matrix-client.matrix.org");
  assertEquals(
    settingsFromEnv(env({ MATRIX_HOMESERVER_URL: "http://127.0.0.1:8008/" })).homeserver,
    "http://127.0.0.1:8008",
  );
  assertThrows(
    () => settingsFromEnv(env({ MATRIX_HOMESERVER_URL: "http://matrix.example.org" })),
    Error,
    "must use HTTPS",
  );
  const s = settingsFromEnv(
    env({ MATRIX_ALLOWED_INVITERS: "@a:x, @b:y,", MATRIX_GROUP_MODE: "all" }),
  );
  assertEquals([s.allowedInviters, s.groupMode], [["@a:x", "@b:y"], "all"]);
  assertEquals(settingsFromEnv(env({ MATRIX_GROUP_MODE: "bogus" })).groupMode, "mention");
});

Deno.test("matrix HTML: escaped text, only web links, code kept verbatim", () => {
  assertEquals(toHtml("a <b> & **c**"), "a &lt;b&gt; &amp; <strong>c</strong>");
  // Not a web link: it stays text (the shared reader does not even parse it as a link).
  assertEquals(toHtml("[x](javascript:alert(1))"), "[x](javascript:alert(1))");
  assertEquals(
    toHtml('[x](https://e.org/?a="1")'),
    '<a href="https://e.org/?a=&quot;1&quot;">x</a>',
  );
  assertEquals(
    toHtml("```js\nif (a < b)\n  go()\n```"),
    '<pre><code class="language-js">if (a &lt; b)\n  go()</code></pre>',
  );
  const parts = formatForMatrix("x ".repeat(20_000), 32_000);
  assertEquals(parts.length, 3);
  assertEquals(parts.every((p) => p.body.length <= 16_000 && p.html.length <= 32_000), true);
});
