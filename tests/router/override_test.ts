import { assertEquals, assertRejects } from "../assert.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { UsageError } from "../../src/errors.ts";
import { applyOverride, overrideFrom } from "../../src/router/override.ts";

const config = ConfigSchema.parse({
  provider: { kind: "openai", model: "gpt-4o" },
  agents: [{ id: "default" }, { id: "ops", provider: { kind: "ollama", model: "qwen3" } }],
});
const env = (o: Record<string, string>) => ({ get: (k: string) => o[k] });

Deno.test("override: flags win over WIRKEN_* variables", () => {
  assertEquals(
    overrideFrom({
      flags: { model: "m-flag" },
      env: env({ WIRKEN_MODEL: "m-env", WIRKEN_PROVIDER: "gemini" }),
    }),
    { kind: "gemini", model: "m-flag", baseUrl: undefined },
  );
});

Deno.test("override: a provider replaces every agent's; a model alone keeps providers", async () => {
  const p = await applyOverride(config, {
    kind: "custom",
    model: "local",
    baseUrl: "http://127.0.0.1:8000/v1",
  });
  assertEquals(p.provider, { kind: "custom", model: "local", baseUrl: "http://127.0.0.1:8000/v1" });
  assertEquals(p.agents[1].provider, undefined);
  const m = await applyOverride(config, { model: "gpt-4.1" });
  assertEquals(m.agents.map((a) => [a.id, a.model, a.provider?.kind]), [
    ["default", "gpt-4.1", undefined],
    ["ops", "gpt-4.1", "ollama"],
  ]);
  assertEquals(await applyOverride(config, {}), config);
  assertEquals((await applyOverride(config, { kind: "ollama" })).provider?.model, "llama3.2");
  await assertRejects(
    () => applyOverride(config, { kind: "nope", model: "x" }),
    UsageError,
    "Unknown provider",
  );
  await assertRejects(
    () => applyOverride(config, { kind: "openai" }),
    UsageError,
    "--model is required",
  );
  await assertRejects(
    () => applyOverride(config, { baseUrl: "https://x.example" }),
    UsageError,
    "needs --provider",
  );
});
