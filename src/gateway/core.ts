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
import type { Outbox } from "../tools/send_file.ts";
import type { ChatMessage } from "../providers/types.ts";
import type { Vault } from "../vault/mod.ts";
import { ApprovalHub } from "./approvals.ts";
import type { OrgLimits } from "../policy/effective.ts";

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
  /** What the org policy imposes beyond config values (required sandbox, skill registries). */
  limits?: OrgLimits;
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
  /** Files queued by `send_file`, by session; the channel bridge sends them with the answer. */
  outbox?: Outbox;
  mcp: McpService | null;
  /** The sandbox `exec` runs in (`bwrap`, `docker`, `host`), or null when none works. */
  sandbox: string | null;
  /** Every tool offered now (guarded). */
  tools(): Tool[];
  /** Scans replies before they leave (adapters, WebChat). */
  guardReply(
    text: string,
    where: { channel: string; session?: string; agent?: string },
  ): Promise<string>;
  /** A guard for a reply sent in pieces (WebChat streaming). */
  streamGuard(where: { channel: string; session?: string }): import("../guard/mod.ts").StreamGuard;
  /**
   * The one entry for a message. An approval answer ("approve k3j9xz") is handled first, before
   * the session's turn lock: the turn that asked is waiting inside it.
   */
  handle(msg: Inbound, opts?: DispatchOptions): Promise<CoreResult>;
  close(): Promise<void>;
}

/** `m` with `redact` applied to every text it carries. */
export function redactMessage(m: ChatMessage, redact: (text: string) => string): ChatMessage {
  if (m.role === "user") return { ...m, content: redact(m.content) };
  if (m.role === "assistant") {
    return {
      ...m,
      content: m.content && redact(m.content),
      toolCalls: m.toolCalls?.map((c) => ({ ...c, arguments: redact(c.arguments) })),
    };
  }
  return { ...m, results: m.results.map((r) => ({ ...r, content: redact(r.content) })) };
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
    { requireCredential, enforcingExpiry },
    guard,
    { setLogTextRedactor },
    { createProvider },
  ] = await Promise.all([
    import("../permissions/store.ts"),
    import("../permissions/broker.ts"),
    import("../sandbox/select.ts"),
    import("../tools/builtin.ts"),
    import("../skills/service.ts"),
    import("../sandbox/wasm/sandbox.ts"),
    import("../router/runtime.ts"),
    import("../vault/mod.ts"),
    import("../guard/mod.ts"),
    import("../log/redact.ts"),
    import("../providers/registry.ts"),
  ]);
  const { config, paths, vault, audit, log, env } = o;
  // Every way out is scanned for vault values and key shapes: logs (from here on), provider
  // requests, tool arguments, replies. Without a vault only the key shapes are known.
  const scanner = vault
    ? guard.SecretScanner.fromStore(vault)
    : guard.SecretScanner.fromSecrets([]);
  setLogTextRedactor(scanner);
  const tracker = new guard.UntrustedTracker({ audit });
  const permissions = PermissionStore.open(paths.permissionsDb);
  const sandboxSettings = { ...config.tools, required: o.limits?.sandbox };
  const sandbox = await sandboxStatus(sandboxSettings);
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
    rememberedApplies: (session, tier) => guard.rememberedApprovalApplies(tracker, session, tier),
  });
  const builtins = builtinToolsFromConfig(config, {
    sandboxFor: sandbox.ok ? sandboxProvider(sandboxSettings) : undefined,
    getCredential: (name) =>
      vault
        ? Promise.resolve(requireCredential(vault, name).reveal())
        : Promise.reject(new Error(`No vault: ${name} is not available.`)),
    egress: (agent) => ({
      policy: guard.egressPolicyFor(config, agent),
      onRefused: guard.egressRefusalAuditor(audit, { agent, destination: "web_fetch" }),
    }),
    execNetwork: guard.execNetwork({
      policyFor: (agent) => guard.egressPolicyFor(config, agent),
      audit,
    }),
  });
  const skills = await openSkills({
    settings: config.skills,
    installedDir: paths.skills,
    env,
    config,
    wasm: new WasmSandbox(),
    policy: o.limits?.skills,
  });
  let mcp: McpService | null = null;
  if (o.mcp !== false && Object.keys(config.mcp.servers).length > 0) {
    const { startMcp } = await import("../mcp/service.ts");
    mcp = await startMcp({
      config,
      credentials: vault && enforcingExpiry(vault),
      log,
      sandboxWrap: await mcpSandbox(paths),
      onEgressRefused: (server, e) =>
        guard.egressRefusalAuditor(audit, { destination: `mcp/${server}` })(e),
    });
  }
  // Each tool is wrapped once: arguments carrying a secret are refused, results are redacted
  // and recorded as untrusted content of the session.
  const wrapped = new WeakMap<Tool, Tool>();
  const guarded = (t: Tool): Tool => {
    let g = wrapped.get(t);
    if (!g) wrapped.set(t, g = guard.guardTool(t, { scanner, audit, tracker }));
    return g;
  };
  // Files the agent sends with `send_file` wait here until the gateway sends the answer.
  const { Outbox, sendFileTool } = await import("../tools/send_file.ts");
  const outbox = new Outbox();
  const sendFile = sendFileTool(outbox);
  const tools = () =>
    [...builtins, sendFile, ...skills.tools, ...(mcp?.tools() ?? [])].map(guarded);
  const home = env.get("HOME") ?? "";
  const runtime = createAgentRuntime({
    config,
    sessionsDb: paths.sessionsDb,
    usageDb: `${paths.root}/usage.db`,
    workspaceRoot: paths.workspace,
    audit,
    permit: broker.check,
    tools,
    // An expired key is refused with the command that rotates it, not used.
    credentials: vault && enforcingExpiry(vault),
    env,
    awsCredentialsFile: await readText(
      env.get("AWS_SHARED_CREDENTIALS_FILE") ?? `${home}/.aws/credentials`,
    ),
    awsConfigFile: await readText(env.get("AWS_CONFIG_FILE") ?? `${home}/.aws/config`),
    systemExtra: skills.promptSection ? [skills.promptSection] : [],
    providerFactory: (settings, model) =>
      guard.guardProvider(createProvider(settings), {
        scanner,
        audit,
        where: { destination: `${model.kind}/${model.model}` },
      }),
    beforeStore: (m) => redactMessage(m, (text) => scanner.redactText(text).text),
    onTurnStart: (t) =>
      tracker.beginTurn({
        session: t.session,
        agent: t.agent,
        channel: t.channel,
        sender: t.sender,
        senderIsOwner: isOwner(config, t.channel, t.sender),
        text: t.text,
      }),
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
    outbox,
    guardReply: async (text, where) =>
      (await guard.guardEgressText({ scanner, audit }, text, {
        kind: "reply",
        destination: where.channel,
        ...where,
      }))
        .text,
    streamGuard: (where) =>
      guard.createStreamGuard({ scanner, audit }, {
        kind: "reply",
        destination: where.channel,
        ...where,
      }),
    async handle(msg, opts) {
      const answer = await broker.handleReply({
        channel: msg.handle.channel,
        conversation: msg.handle.conversationId,
        sender: msg.sender,
        text: msg.text,
      });
      if (answer) {
        approvals.changed();
        return { status: "approval", ...answer };
      }
      return await runtime.handle(msg, opts);
    },
    async close() {
      setLogTextRedactor(undefined);
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
