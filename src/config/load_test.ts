import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { loadConfig, parseConfig, saveConfig } from "./load.ts";

Deno.test("config: a missing file yields the defaults", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = await loadConfig(join(dir, "config.json"));
  assertEquals(cfg.provider, undefined);
  assertEquals(cfg.webchat.port, 18790);
  assertEquals(cfg.agents, [{ id: "default" }]);
  assertEquals(cfg.limits.toolRoundsPerTurn, 20);
});

Deno.test("config: bad JSON names the file and says how to fix it", () => {
  const e = assertThrows(() => parseConfig("{ provider: ", "/x/config.json"), ConfigError);
  assertStringIncludes(e.message, "/x/config.json is not valid JSON");
  assert(e.fix);
});

Deno.test("config: a wrong enum value names the field and the allowed values", () => {
  const e = assertThrows(
    () => parseConfig(JSON.stringify({ provider: { kind: "openia", model: "gpt-4o" } }), "c.json"),
    ConfigError,
  );
  assertStringIncludes(e.message, "provider.kind");
  assertStringIncludes(e.message, '"openai"');
  assertStringIncludes(e.fix ?? "", "provider.kind");
});

Deno.test("config: unknown keys are refused, with the key named", () => {
  const e = assertThrows(
    () => parseConfig(JSON.stringify({ apiKey: "sk-123" }), "c.json"),
    ConfigError,
  );
  assertStringIncludes(e.message, '"apiKey"');
  // The value itself is never echoed back: it might be a secret pasted in the wrong place.
  assert(!e.message.includes("sk-123"));
});

Deno.test("config: out-of-range numbers and bad agent ids are reported per field", () => {
  const e = assertThrows(
    () =>
      parseConfig(
        JSON.stringify({ webchat: { port: 70000 }, agents: [{ id: "Bad Id" }] }),
        "c.json",
      ),
    ConfigError,
  );
  assertStringIncludes(e.message, "webchat.port");
  assertStringIncludes(e.message, "agents.0.id");
});

Deno.test("config: save is atomic, 0600, and round-trips", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "config.json");
  const cfg = parseConfig(
    JSON.stringify({ provider: { kind: "ollama", model: "llama3.2" }, webchat: { port: 18800 } }),
    path,
  );
  await saveConfig(path, cfg);
  assertEquals(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
  assertEquals(await loadConfig(path), cfg);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["config.json"]);
});

Deno.test("config: unreadable file gives a ConfigError, not a crash", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(() => loadConfig(dir), ConfigError, "Cannot read");
});
