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
import type { ApprovalPrompt } from "../permissions/broker.ts";
import type { Core } from "../gateway/core.ts";
import type { Vault } from "../vault/store.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

/**
 * How the terminal answers the approval broker: an interactive terminal is asked (a "yes" to a
 * tier-2 call is remembered for 30 days, as in chat); a non-interactive one denies and says so.
 * The answer goes through the broker like a chat reply, so it is audited the same way.
 */
export function terminalApprovals(
  core: Pick<Core, "broker">,
  deps: {
    interactive: boolean;
    say: (line: string) => void;
    ask: (question: string) => Promise<boolean>;
  },
): (prompt: ApprovalPrompt) => Promise<void> {
  return async (prompt) => {
    let yes = false;
    if (!deps.interactive) {
      deps.say(
        `denied: ${prompt.summary} needs approval (tier ${prompt.tier}), and this terminal is not interactive.`,
      );
    } else {
      yes = await deps.ask(
        `Allow ${prompt.summary} (tier ${prompt.tier}, sandbox: ${prompt.sandbox})?`,
      );
    }
    await core.broker.decide({
      code: prompt.code,
      decision: yes ? "approve" : "deny",
      remember: yes && prompt.canRemember,
      sender: "local",
      channel: "cli",
      session: prompt.session,
    });
  };
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
    { print, printError, printJson },
  ] = await Promise.all([
    import("../config/paths.ts"),
    import("../config/load.ts"),
    import("../audit/log.ts"),
    import("./output.ts"),
  ]);
  const paths = await ensureDataDir(ctx.dataDir);
  const override = overrideFrom(ctx);
  let config = await applyOverride(await loadConfig(paths.config), override);
  // The org policy binds `ask` exactly as it binds `wirken run`: no side door around it.
  const followed = config.org
    ? await (await import("../policy/follow.ts")).followOrgPolicy(config, paths)
    : null;
  if (followed) config = followed.config;
  const agentFlag = typeof ctx.flags.agent === "string" ? ctx.flags.agent : undefined;

  // Before any vault exists, keys come from the environment, so a first try needs no setup.
  // Once one exists it must open: its key signs the audit log.
  let vault: Vault | undefined;
  try {
    const { openVault } = await import("../vault/open.ts");
    vault = await openVault({ dataDir: ctx.dataDir, env: ctx.env, create: false });
  } catch (e) {
    const { VaultError } = await import("../vault/errors.ts");
    const exists = await Deno.stat(paths.vaultDb).then(() => true, () => false);
    // With a vault present, its key signs the audit log: appending unsigned would weaken it.
    if (exists && e instanceof VaultError) throw e;
    if (ctx.verbose) {
      ctx.log.debug("no vault yet; keys come from the environment", {
        reason: (e as Error).message,
      });
    }
  }
  const { ensureSigningKey } = await import("../audit/keys.ts");
  const audit = openAuditLog(paths.auditDb, {
    signingKey: vault ? ensureSigningKey(vault) : undefined,
  });
  const { startCore } = await import("../gateway/core.ts");
  let core: Core;
  try {
    core = await startCore({
      config,
      paths,
      vault,
      audit,
      log: ctx.log,
      env: ctx.env,
      limits: followed?.limits,
    });
  } catch (e) {
    audit.close();
    vault?.close();
    throw e;
  }
  const { confirm, stdinIsTerminal } = await import("../vault/prompt.ts");
  core.approvals.setSink(
    "cli",
    terminalApprovals(core, { interactive: stdinIsTerminal(), say: printError, ask: confirm }),
  );
  const enc = new TextEncoder();
  const { openSession } = await import("../ipc/session.ts");
  try {
    const result = await core.handle(
      { handle: openSession("cli", "terminal"), sender: "local", text },
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
      case "approval":
        if (ctx.json) printJson(result);
        else (result.accepted ? print : printError)(result.message);
        return result.accepted ? 0 : 1;
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
    await core.close();
    audit.close();
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
