/**
 * `wirken usage [--agent] [--channel] [--since 7d] [--json]`: tokens and cost per day, agent,
 * channel and model, from `<data dir>/usage.db` (every provider call the gateway, `wirken ask`
 * and scheduled tasks made), with the budgets in force.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { UsageStore } from "../usage/store.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

type Budget = Config["budgets"]["agents"][string];

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Parses `--since`: `7d`, `24h`, `30m`, or a date (`2026-05-01`). */
export async function parseSince(text: string, now: number): Promise<number> {
  const m = /^(\d+)([mhd])$/.exec(text.trim());
  if (m) return now - Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]]!;
  const t = Date.parse(text);
  if (/^\d{4}-\d\d-\d\d/.test(text) && !Number.isNaN(t)) return t;
  const { UsageError } = await import("../errors.ts");
  throw new UsageError(`"${text}" is not a period.`, "Use 7d, 24h, 30m or a date like 2026-05-01.");
}

async function run(ctx: CommandContext): Promise<number> {
  const [{ ensureDataDir }, { UsageStore, usageDbPath }, { print, printJson, table }] =
    await Promise.all([
      import("../config/paths.ts"),
      import("../usage/store.ts"),
      import("./output.ts"),
    ]);
  const now = Date.now();
  const since = await parseSince(str(ctx, "since") ?? "7d", now);
  const paths = await ensureDataDir(ctx.dataDir);
  const store = UsageStore.open(usageDbPath(paths.root));
  let rows;
  let budgets: BudgetLine[];
  try {
    rows = store.report({ since, agent: str(ctx, "agent"), channel: str(ctx, "channel") });
    budgets = await budgetLines(ctx, store, now);
  } finally {
    store.close();
  }
  const total = rows.reduce(
    (t, r) => ({
      inputTokens: t.inputTokens + r.inputTokens,
      outputTokens: t.outputTokens + r.outputTokens,
      costUsd: t.costUsd + r.costUsd,
      calls: t.calls + r.calls,
    }),
    { inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 },
  );
  if (ctx.json) {
    printJson({ since: new Date(since).toISOString(), rows, total, budgets });
    return 0;
  }
  const showBudgets = () => {
    if (!budgets.length) return;
    print("");
    print(table(
      ["BUDGET", "LIMIT", "USED"],
      budgets.map((b) => [
        b.scope,
        `${b.limit} ${b.unit === "usd" ? `$${b.max}` : b.max}`,
        b.unit === "usd" ? `$${b.used.toFixed(4)}` : String(b.used),
      ]),
    ));
  };
  if (!rows.length) {
    print(`No model usage since ${new Date(since).toISOString().slice(0, 16)}Z.`);
    showBudgets();
    return 0;
  }
  const usd = (n: number) => `$${n.toFixed(4)}`;
  print(table(
    ["DAY", "AGENT", "CHANNEL", "MODEL", "CALLS", "IN", "OUT", "COST"],
    [
      ...rows.map((r) => [
        r.day,
        r.agent,
        r.channel,
        r.model,
        String(r.calls),
        String(r.inputTokens),
        String(r.outputTokens),
        usd(r.costUsd) + (r.unpriced ? " (unpriced)" : ""),
      ]),
      [
        "total",
        "",
        "",
        "",
        String(total.calls),
        String(total.inputTokens),
        String(total.outputTokens),
        usd(total.costUsd),
      ],
    ],
  ));
  if (rows.some((r) => r.unpriced)) {
    print("unpriced: the model has no price; add one under `prices` in config.json.");
  }
  showBudgets();
  return 0;
}

/** One configured limit and what is used of it now. */
interface BudgetLine {
  scope: string;
  limit: string;
  unit: "tokens" | "usd";
  max: number;
  used: number;
}

/** The agent and named-sender budgets of config, with today's / this month's use. */
async function budgetLines(
  ctx: CommandContext,
  store: UsageStore,
  now: number,
): Promise<BudgetLine[]> {
  const [{ dataPaths }, { loadConfig }] = await Promise.all([
    import("../config/paths.ts"),
    import("../config/load.ts"),
  ]);
  const config = await loadConfig(dataPaths(ctx.dataDir).config);
  const out: BudgetLine[] = [];
  type Scope = { agent: string } | { channel: string; sender: string };
  const scopes: [string, Scope, Budget][] = [
    ...Object.entries(config.budgets.agents).map(([id, b]): [string, Scope, Budget] => [
      `agent ${id}`,
      { agent: id },
      b,
    ]),
    ...Object.entries(config.budgets.senders).map(([key, b]): [string, Scope, Budget] => {
      const i = key.indexOf(":");
      return [`sender ${key}`, { channel: key.slice(0, i), sender: key.slice(i + 1) }, b];
    }),
  ];
  for (const [scope, where, b] of scopes) {
    for (
      const [key, period, unit] of [
        ["dailyTokens", "day", "tokens"],
        ["monthlyTokens", "month", "tokens"],
        ["dailyUsd", "day", "usd"],
        ["monthlyUsd", "month", "usd"],
      ] as const
    ) {
      const max = b[key];
      if (max === undefined) continue;
      const t = store.totals(where, period, now);
      const used = unit === "usd" ? t.costUsd : t.inputTokens + t.outputTokens;
      out.push({ scope, limit: key, unit, max, used });
    }
  }
  return out;
}

/** The `usage` command. */
export const usageCommand: CommandSpec = {
  name: "usage",
  summary: "Tokens and cost per day, agent, channel and model.",
  description:
    "Every provider call is recorded with its token counts and its cost from the price table\n" +
    "(per model; `prices` in config.json overrides it). Budgets are set under `budgets`.",
  examples: ["wirken usage", "wirken usage --agent default --since 30d --json"],
  options: {
    agent: { type: "string", description: "Only this agent.", valueName: "<id>" },
    channel: { type: "string", description: "Only this channel.", valueName: "<channel>" },
    since: {
      type: "string",
      description: "Period: 7d (default), 24h, or a date like 2026-05-01.",
      valueName: "<period>",
    },
  },
  json: true,
  run,
};
