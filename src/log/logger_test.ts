import { assert, assertEquals, assertFalse, assertStringIncludes } from "../../tests/assert.ts";
import { join } from "node:path";
import { Secret } from "../secret.ts";
import { createLogger, type TextSink } from "./logger.ts";
import { redact } from "./redact.ts";

const VALUE = "xoxb-123456789-abcdefghijkl";

function memorySink(): TextSink & { text(): string } {
  const chunks: Uint8Array[] = [];
  return {
    writeSync(b: Uint8Array) {
      chunks.push(b.slice());
      return b.length;
    },
    text: () => chunks.map((c) => new TextDecoder().decode(c)).join(""),
  };
}

Deno.test("logger: JSON lines to file (0600) and human lines to the terminal", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "wirken.log");
  const sink = memorySink();
  const log = createLogger({ file, terminal: sink, component: "gateway" });
  log.info("started", { port: 18790 });
  log.child("ipc").warn("slow peer", { ms: 12 });
  log.debug("hidden unless verbose");
  log.close();
  const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.length, 2);
  assertEquals(lines[0].msg, "started");
  assertEquals(lines[0].port, 18790);
  assertEquals(lines[1].component, "gateway.ipc");
  assertEquals(((await Deno.stat(file)).mode ?? 0) & 0o777, 0o600);
  assertStringIncludes(sink.text(), "INFO  [gateway] started port=18790");
  assertFalse(sink.text().includes("hidden"));
});

Deno.test("logger: verbose shows debug records", () => {
  const sink = memorySink();
  createLogger({ terminal: sink, verbose: true }).debug("details");
  assertStringIncludes(sink.text(), "DEBUG details");
});

Deno.test("logger: Secrets and credential-named fields never reach file or terminal", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "wirken.log");
  const sink = memorySink();
  const log = createLogger({ file, terminal: sink });
  const s = new Secret(VALUE);
  // The point of this test is to log secrets and see them redacted.
  // deno-lint-ignore wirken/no-secret-logging
  log.info("connecting", {
    token: VALUE,
    botToken: VALUE,
    headers: { Authorization: `Bearer ${VALUE}` },
    nested: { deeper: [{ key: s }] },
    secret: s,
    api_key: VALUE,
  });
  // deno-lint-ignore wirken/no-secret-logging
  log.error(`value ${s}`);
  log.close();
  const all = (await Deno.readTextFile(file)) + sink.text();
  assertFalse(all.includes(VALUE), all);
  assertStringIncludes(all, "[REDACTED]");
});

Deno.test("redact: cycles, errors and bytes are made printable", () => {
  const a: Record<string, unknown> = { name: "a" };
  a.self = a;
  const out = redact({ a, err: new Error("boom"), bytes: new Uint8Array(3) }) as Record<
    string,
    unknown
  >;
  assertEquals((out.a as Record<string, unknown>).self, "[Circular]");
  assertEquals(out.err, { name: "Error", message: "boom" });
  assertEquals(out.bytes, "[3 bytes]");
  assert(redact(null) === null);
});
