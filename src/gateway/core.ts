/**
 * The services behind every message, built once and shared by the gateway and `wirken ask`:
 * permissions and the approval broker, built-in tools in their sandbox, skills, MCP servers,
 * and the agent runtime (router, sessions, rate limits). One place wires them, so a message
 * from Telegram, WebChat or the terminal meets the same rules.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import type { DataPaths } from "../config/paths.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import type { ApprovalBroker } from "../permissions/broker.ts";
import type { PermissionStore } from "../permissions/store.ts";
import type { AgentRuntime } from "../router/runtime.ts";
import type { DispatchOptions, DispatchResult, Inbound } from "../router/dispatch.ts";
import type { McpService } from "../mcp/service.ts";
import type { OpenedSkills } from "../skills/service.ts";
import type { Tool } from "../tools/types.ts";
import type { Vault } from "../vault/mod.ts";
import { ApprovalHub } from "./approvals.ts";

/** What {@linkcode startCore} needs. */
export interface CoreOptions {
  config: Config;
  paths: DataPaths;
  /** Absent (`wirken ask` before any vault exists): keys come from the environment only. */
  vault?: Vault;
  audit: AuditSink;
  log: Logger;
  env: { get(name: string): string | undefined };
  /** Start MCP servers (the gateway does; a one-shot `ask` may skip them). Default true. */
  mcp?: boolean;
}

/** The outcome of a message: an approval answer, or what the router did. */
export type CoreResult = DispatchResult | {
  status: "approval";
  accepted: boolean;
  message: string;
};

/** The running core. */
export interface Core {
  runtime: AgentRuntime;
  broker: ApprovalBroker;
  approvals: ApprovalHub;
  permissions: PermissionStore;
  skills: OpenedSkills;
  mcp: McpService | null;
  /** The sandbox `exec` runs in (`bwrap`, `docker`, `host`), or null when none works. */
  sandbox: string | null;
  /** Every tool offered now. */
  tools(): Tool[];
  /**
   * The one entry for a message. An approval answer ("approve k3j9xz") is handled first, before
   * the session's turn lock: the turn that asked is waiting inside it.
   */
  handle(msg: Inbound, opts?: DispatchOptions): Promise<CoreResult>;
  close(): Promise<void>;
}

/** Sources with no allow-list of their own: the person at this machine. */
const LOCAL = new Set(["webchat", "cli"]);

/** Is `sender` an owner of `channel` (may answer approvals)? */
export function isOwner(config: Config, channel: string, sender: string): boolean {
  if (LOCAL.has(channel)) return sender === "local";
  const ch = (config.channels as Record<string, { allowFrom: string[] } | undefined>)[channel];
  return ch?.allowFrom.includes(sender) ?? false;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/** Builds the core. */
export async function startCore(o: CoreOptions): Promise<Core> {
  const [
    { PermissionStore },
    { ApprovalBroker },
    { sandboxProvider, sandboxStatus },
    { builtinToolsFromConfig },
    { openSkills },
    { WasmSandbox },
    { createAgentRuntime },
    { requireCredential },
  ] = await Promise.all([
    import("../permissions/store.ts"),
    import("../permissions/broker.ts"),
    import("../sandbox/select.ts"),
    import("../tools/builtin.ts"),
    import("../skills/service.ts"),
    import("../sandbox/wasm/sandbox.ts"),
    import("../router/runtime.ts"),
    import("../vault/mod.ts"),
  ]);
  const { config, paths, vault, audit, log, env } = o;
  const permissions = PermissionStore.open(paths.permissionsDb);
  const sandbox = await sandboxStatus(config.tools);
  if (!sandbox.ok) log.warn(`exec is not offered: ${sandbox.detail}`);
  // The hub first polls a second from now, when `broker` exists.
  const approvals = new ApprovalHub(
    log.child("approvals"),
    () => broker.pending().map((p) => p.code),
  );
  const broker: ApprovalBroker = new ApprovalBroker({
    store: permissions,
    audit,
    policy: { tiers: config.tools.tiers },
    isOwner: (channel, sender) => isOwner(config, channel, sender),
    ask: approvals.ask,
    sandboxFor: (tool) => (tool === "exec" ? sandbox.kind ?? "none" : "none"),
    timeoutMs: config.tools.approvalTimeoutSeconds * 1000,
  });
  const builtins = builtinToolsFromConfig(config, {
    sandboxFor: sandbox.ok ? sandboxProvider(config.tools) : undefined,
    getCredential: (name) =>
      vault
        ? Promise.resolve(requireCredential(vault, name).reveal())
        : Promise.reject(new Error(`No vault: ${name} is not available.`)),
  });
  const skills = await openSkills({
    settings: config.skills,
    installedDir: paths.skills,
    env,
    config,
    wasm: new WasmSandbox(),
  });
  let mcp: McpService | null = null;
  if (o.mcp !== false && Object.keys(config.mcp.servers).length > 0) {
    const { startMcp } = await import("../mcp/service.ts");
    mcp = await startMcp({ config, credentials: vault, log, sandboxWrap: await mcpSandbox(paths) });
  }
  const tools = () => [...builtins, ...skills.tools, ...(mcp?.tools() ?? [])];
  const home = env.get("HOME") ?? "";
  const runtime = createAgentRuntime({
    config,
    sessionsDb: paths.sessionsDb,
    workspaceRoot: paths.workspace,
    audit,
    permit: broker.check,
    tools,
    credentials: vault,
    env,
    awsCredentialsFile: await readText(
      env.get("AWS_SHARED_CREDENTIALS_FILE") ?? `${home}/.aws/credentials`,
    ),
    awsConfigFile: await readText(env.get("AWS_CONFIG_FILE") ?? `${home}/.aws/config`),
    systemExtra: skills.promptSection ? [skills.promptSection] : [],
  });
  return {
    runtime,
    broker,
    approvals,
    permissions,
    skills,
    mcp,
    sandbox: sandbox.kind,
    tools,
    async handle(msg, opts) {
      const answer = await broker.handleReply({ ...msg });
      if (answer) {
        approvals.changed();
        return { status: "approval", ...answer };
      }
      return await runtime.handle(msg, opts);
    },
    async close() {
      approvals.close();
      await mcp?.stop();
      runtime.close();
      permissions.close();
    },
  };
}

/** bubblewrap for MCP servers configured with `sandbox: true`, when bwrap is installed. */
async function mcpSandbox(
  paths: DataPaths,
): Promise<((argv: readonly string[]) => string[]) | undefined> {
  const [{ onPath }, { bwrapWrapper, supportsDisableUserns }] = await Promise.all([
    import("../sandbox/process.ts"),
    import("../sandbox/bwrap.ts"),
  ]);
  const bwrapPath = await onPath("bwrap");
  if (!bwrapPath) return undefined;
  return bwrapWrapper({
    workspace: paths.workspace,
    bwrapPath,
    disableUserns: await supportsDisableUserns(bwrapPath),
  });
}
