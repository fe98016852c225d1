/** `wirken usage` over a usage.db with a few calls: totals, filters, --since, --json, text. */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";
import { usageDbPath, UsageStore } from "../../src/usage/store.ts";

Deno.test("wirken usage reports tokens and cost per day, agent, channel and model", async () => {
  const dataDir = await tempDataDir();
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({
      budgets: {
        agents: { default: { dailyTokens: 1000 } },
        senders: { "telegram:42": { monthlyUsd: 5 } },
      },
    }),
  );
  const store = UsageStore.open(usageDbPath(dataDir));
  const now = Date.now();
  const base = { channel: "telegram", sender: "42", priced: true };
  store.record({
    ...base,
    at: now,
    agent: "default",
    model: "openai:gpt-4o",
    inputTokens: 100,
    outputTokens: 10,
    costUsd: 0.00035,
  });
  store.record({
    ...base,
    at: now,
    agent: "default",
    model: "openai:gpt-4o",
    inputTokens: 50,
    outputTokens: 5,
    costUsd: 0.000175,
  });
  store.record({
    ...base,
    at: now,
    agent: "ops",
    channel: "webchat",
    model: "custom:x",
    inputTokens: 7,
    outputTokens: 3,
    costUsd: 0,
    priced: false,
  });
  store.record({
    ...base,
    at: now - 40 * 86_400_000,
    agent: "default",
    model: "openai:gpt-4o",
    inputTokens: 999,
    outputTokens: 999,
    costUsd: 1,
  });
  store.close();

  const all = await wirken(["usage", "--json"], { dataDir });
  assertEquals(all.code, 0, all.stderr);
  const report = JSON.parse(all.stdout);
  assertEquals(report.total, { inputTokens: 157, outputTokens: 18, costUsd: 0.000525, calls: 3 });
  assertEquals(report.budgets, [
    { scope: "agent default", limit: "dailyTokens", unit: "tokens", max: 1000, used: 165 },
    { scope: "sender telegram:42", limit: "monthlyUsd", unit: "usd", max: 5, used: 0.000525 },
  ]);
  const onlyOps = JSON.parse(
    (await wirken(["usage", "--agent", "ops", "--json"], { dataDir })).stdout,
  );
  assertEquals(
    onlyOps.rows.map((r: { model: string; unpriced: number }) => [r.model, r.unpriced]),
    [["custom:x", 1]],
  );
  const longer = JSON.parse(
    (await wirken(["usage", "--since", "60d", "--json"], { dataDir })).stdout,
  );
  assertEquals(longer.total.calls, 4);
  const text = await wirken(["usage", "--channel", "telegram"], { dataDir });
  assertStringIncludes(text.stdout, "openai:gpt-4o");
  assertStringIncludes(text.stdout, "$0.0005");
  assertStringIncludes(text.stdout, "agent default");
  const bad = await wirken(["usage", "--since", "last week"], { dataDir });
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "is not a period");
});
