/**
 * False positives at scale: 100 random vault secrets of varied lengths against every source,
 * doc and lock file of this repository (about 2 MB of code, hashes, base64 and prose). The
 * vault matcher (exact, folded, encodings, 12-symbol pieces) must find nothing; key shapes are
 * left out because the test suites hold deliberately fake keys.
 */
import { assertEquals } from "../assert.ts";
import { SecretScanner } from "../../src/guard/scan.ts";
import { Secret } from "../../src/secret.ts";

async function* files(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const url = new URL(e.isDirectory ? `${e.name}/` : e.name, dir);
    if (e.isDirectory) yield* files(url);
    else if (e.isFile && /\.(ts|md|json|js|capnp|lock|sh|txt)$/.test(e.name)) yield url;
  }
}

Deno.test("false positives: 100 random secrets against the whole repository", async () => {
  const entries = Array.from({ length: 100 }, (_, i) => {
    const bytes = crypto.getRandomValues(new Uint8Array(12 + (i % 40)));
    const b64 = btoa(String.fromCharCode(...bytes));
    const value = i % 4 === 0
      ? b64
      : i % 4 === 1
      ? [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")
      : i % 4 === 2
      ? `sk-proj-${b64.replace(/[+/=]/g, "")}`
      : `${1000000000 + i}:${b64.replace(/[+/=]/g, "x")}`;
    return { name: `cred.${i}`, value: new Secret(value) };
  });
  const scanner = SecretScanner.fromSecrets(entries, { shapes: false });
  const found: string[] = [];
  let total = 0;
  for await (const url of files(new URL("../../", import.meta.url))) {
    const text = await Deno.readTextFile(url);
    total += text.length;
    for (const h of scanner.scan(text)) found.push(`${url.pathname}:${h.start} ${h.encoding}`);
  }
  assertEquals(found, []);
  assertEquals(total > 500_000, true, "the corpus was read");
});
