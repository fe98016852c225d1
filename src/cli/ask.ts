/**
 * `wirken ask <text>`: one agent turn from the terminal, streaming the answer.
 *
 * `ask` enters through the same router as every chat channel (channel `cli`, conversation
 * `terminal`, sender `local`): rate limits (shared between runs through the sessions database),
 * agent binding, session history, audit and permissions all apply. Consecutive `ask` runs
 * continue one conversation per agent; `wirken sessions clear cli:terminal:<agent>` starts over.
 *
 * To try a provider without editing config: `--provider`, `--model`, `--base-url` (or
 * `WIRKEN_PROVIDER`, `WIRKEN_MODEL`, `WIRKEN_BASE_URL`), with the key from the vault or the
 * provider's usual environment variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`,
 * `GEMINI_API_KEY`, AWS variables, ...).
 *
 * @module
 */
import type { PermissionRequest } from "../agent/loop.ts";
import type { Vault } from "../vault/store.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

/**
 * The permission callback of a terminal: tier 1 runs; a remembered tier-2 approval runs; else
 * an interactive terminal is asked, and a non-interactive one denies and says so.
 */
export async function terminalPermit(
  req: PermissionRequest,
  deps: {
    interactive: boolean;
    say: (line: string) => void;
    ask: (question: string) => Promise<boolean>;
    store?: {
      findRemembered(key: ApprovalKeyLike, now: number): unknown;
      remember(key: ApprovalKeyLike, by: string, now: number, until: number): void;
    };
    tiers?: Readonly<Record<string, 1 | 2 | 3>>;
  },
): Promise<"allow" | "deny"> {
  const { effectiveTier, scopeOf, summarize, REMEMBER_MS } = await import(
    "../permissions/policy.ts"
  );
  const tier = effectiveTier(req.tool, req.tier, req.input, { tiers: deps.tiers });
  if (tier === 1) return "allow";
  const key = {
    agent: req.agent,
    tool: req.tool,
    scope: scopeOf(req.tool, req.input),
    channel: req.channel,
    sender: req.sender,
  };
  const now = Date.now();
  if (tier === 2 && deps.store?.findRemembered(key, now)) return "allow";
  const what = summarize(req.tool, req.input);
  if (!deps.interactive) {
    deps.say(
      `denied: ${what} needs approval (tier ${tier}), and this terminal is not interactive.`,
    );
    return "deny";
  }
  const yes = await deps.ask(`Allow ${what}?`);
  if (yes && tier === 2) deps.store?.remember(key, "cli", now, now + REMEMBER_MS);
  return yes ? "allow" : "deny";
}

/** The key shape of a remembered approval. */
export interface ApprovalKeyLike {
  agent: string;
  tool: string;
  scope: string;
  channel: string;
  sender: string;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

async function runAsk(ctx: CommandContext): Promise<number> {
  const raw = ctx.args.text;
  const text = (Array.isArray(raw) ? raw.join(" ") : raw ?? "").trim();
  const { UsageError, WirkenError } = await import("../errors.ts");
  if (!text) throw new UsageError("Nothing to ask.", 'Example: wirken ask "hello"');

  const { applyOverride, overrideFrom } = await import("../router/override.ts");
  const [
    { ensureDataDir },
    { loadConfig },
    { openAuditLog },
    { createAgentRuntime },
    { print, printError, printJson },
  ] = await Promise.all([
    import("../config/paths.ts"),
    import("../config/load.ts"),
    import("../audit/log.ts"),
    import("../router/runtime.ts"),
    import("./output.ts"),
  ]);
  const paths = await ensureDataDir(ctx.dataDir);
  const override = overrideFrom(ctx);
  const config = await applyOverride(await loadConfig(paths.config), override);
  const agentFlag = typeof ctx.flags.agent === "string" ? ctx.flags.agent : undefined;

  // The vault is optional here: with no vault (or one that will not open), keys come from the
  // environment, so a first try needs no setup.
  let vault: Vault | undefined;
  try {
    const { openVault } = await import("../vault/open.ts");
    vault = await openVault({ dataDir: ctx.dataDir, env: ctx.env, create: false });
  } catch (e) {
    if (ctx.verbose) ctx.log.debug("vault not used", { reason: (e as Error).message });
  }
  const home = ctx.env.get("HOME") ?? "";
  const audit = openAuditLog(paths.auditDb);
  let permissions: import("../permissions/store.ts").PermissionStore | undefined;
  try {
    const { PermissionStore } = await import("../permissions/store.ts");
    permissions = PermissionStore.open(paths.permissionsDb);
  } catch (e) {
    if (ctx.verbose) ctx.log.debug("permission store not used", { reason: (e as Error).message });
  }
  const { confirm, stdinIsTerminal } = await import("../vault/prompt.ts");
  const runtime = createAgentRuntime({
    config,
    sessionsDb: paths.sessionsDb,
    workspaceRoot: paths.workspace,
    audit,
    permit: (req) =>
      terminalPermit(req, {
        interactive: stdinIsTerminal(),
        say: printError,
        ask: confirm,
        store: permissions,
      }),
    // The tool registry is built by the tools issue; until then `ask` offers no tools.
    tools: [],
    credentials: vault,
    env: ctx.env,
    awsCredentialsFile: await readText(
      ctx.env.get("AWS_SHARED_CREDENTIALS_FILE") ?? `${home}/.aws/credentials`,
    ),
    awsConfigFile: await readText(ctx.env.get("AWS_CONFIG_FILE") ?? `${home}/.aws/config`),
  });
  const enc = new TextEncoder();
  try {
    const result = await runtime.handle(
      { channel: "cli", conversation: "terminal", sender: "local", text },
      {
        agent: agentFlag,
        onEvent: (e) => {
          if (ctx.json) return;
          if (e.type === "text") Deno.stdout.writeSync(enc.encode(e.text));
          else if (e.type === "tool_call") printError(`\n[tool] ${e.call.name}`);
        },
      },
    );
    switch (result.status) {
      case "answered":
        if (ctx.json) printJson(result);
        else print("");
        return 0;
      case "limited":
        if (ctx.json) printJson(result);
        else printError(result.message);
        return 1;
      case "refused":
        throw new WirkenError("This message was refused.", {
          fix: "Report this: the cli channel has no allow-list.",
        });
      case "failed":
        if (ctx.json) {
          printJson(result);
          return 1;
        }
        throw new WirkenError(result.message, { fix: result.fix });
    }
    return 1;
  } finally {
    runtime.close();
    audit.close();
    permissions?.close();
    vault?.close();
  }
}

/** The `ask` command. */
export const askCommand: CommandSpec = {
  name: "ask",
  summary: "Ask the agent one question from the terminal, streaming the answer.",
  description:
    "Runs one turn through the same router as chat (rate limits, sessions, audit, permissions). " +
    "Consecutive asks continue one conversation per agent. --provider/--model/--base-url " +
    "(or WIRKEN_PROVIDER, WIRKEN_MODEL, WIRKEN_BASE_URL) try a provider without editing config; " +
    "the key comes from the vault or the provider's usual env variable (OPENAI_API_KEY, ...).",
  examples: [
    'wirken ask "What changed in ./notes today?"',
    'wirken ask --agent research "Summarise RFC 9180"',
    'wirken ask --provider openai --model gpt-4o-mini "hello"',
  ],
  args: [{ name: "text", description: "The message.", required: true, variadic: true }],
  options: {
    agent: { type: "string", description: "Agent id (default: default).", valueName: "<id>" },
    provider: {
      type: "string",
      description: "Provider for this question only (env WIRKEN_PROVIDER).",
      valueName: "<name>",
    },
    model: {
      type: "string",
      description: "Model for this question only (env WIRKEN_MODEL).",
      valueName: "<id>",
    },
    "base-url": {
      type: "string",
      description: "Endpoint for this question only (env WIRKEN_BASE_URL).",
      valueName: "<url>",
    },
  },
  json: true,
  run: runAsk,
};
