/**
 * The schema of `config.json`: the one description of every configuration key.
 *
 * Secrets never live here: provider keys and bot tokens are in the vault, and config only
 * names them. `docs/configuration.md` is generated from this schema.
 *
 * @module
 */
import { z } from "zod";
import { MAX_GROUP_MODE_ID, MAX_GROUP_MODES, MAX_GROUP_MODES_BYTES } from "../ipc/bundle.ts";
import { type Channel, CHANNELS } from "./channels.ts";

/** The LLM providers wirken speaks. */
export const PROVIDER_KINDS = [
  "openai",
  "anthropic",
  "gemini",
  "bedrock",
  "tinfoil",
  "privatemode",
  "ollama",
  "custom",
] as const;

// Defined in channels.ts so adapters and the CLI can have the list without the schema.
export { type Channel, CHANNELS };

const agentId = z.string().regex(
  /^[a-z0-9][a-z0-9_-]{0,62}$/,
  "use lowercase letters, digits, '-' or '_' (at most 63), starting with a letter or digit",
);

/** Which LLM to talk to. */
export const ProviderSchema = z.strictObject({
  kind: z.enum(PROVIDER_KINDS).describe("Which provider wire format to use."),
  model: z.string().min(1).describe("Model name, e.g. gpt-4o or llama3.2."),
  baseUrl: z.url().optional().describe(
    "Endpoint override (required for custom; default for ollama is http://127.0.0.1:11434).",
  ),
  credential: z.string().min(1).optional().describe(
    "Name of the vault credential holding the API key (never the key itself).",
  ),
});

/** One configured chat channel. */
export const ChannelConfigSchema = z.strictObject({
  enabled: z.boolean().default(true).describe("Start this channel's adapter with the gateway."),
  publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "a base64 Ed25519 public key (44 chars)")
    .optional().describe("The adapter's Ed25519 public key; its private key is in the vault."),
  allowFrom: z.array(z.string().min(1)).default([]).describe(
    "Sender ids allowed to talk to the agent; empty means nobody until you add one.",
  ),
  homeserver: z.url().optional().describe(
    "Matrix only: the homeserver's base URL, HTTPS unless on this machine (default https://matrix-client.matrix.org).",
  ),
  listenPort: z.number().int().min(1).max(65535).optional().describe(
    "Teams and WhatsApp only: the loopback port the webhook listens on, behind your reverse proxy or tunnel (default 3978 for Teams, 3979 for WhatsApp).",
  ),
});

/** Where tools may connect: web_fetch, sandboxed exec, MCP HTTP servers, skills. */
export const EgressSchema = z.strictObject({
  allow: z.array(z.string().min(1)).default([]).describe(
    "Hosts tools may reach: example.com, *.example.com (subdomains), * (any public host), or an IP/CIDR (the only way to allow private, loopback or metadata addresses); each may end in :port. Empty: none.",
  ),
});

/** One agent: a persona with its own model, tools and workspace. */
export const AgentSchema = z.strictObject({
  id: agentId.describe("Agent id used in routes and sessions."),
  name: z.string().min(1).optional().describe("Display name."),
  provider: ProviderSchema.optional().describe("Overrides the top-level provider."),
  model: z.string().min(1).optional().describe(
    "Model id for this agent, keeping the provider (top-level or this agent's).",
  ),
  systemPrompt: z.string().optional().describe("Extra instructions for this agent."),
  tools: z.array(z.string().min(1)).optional().describe(
    "Names of the tools this agent may use (default: all available tools).",
  ),
  workspace: z.string().min(1).optional().describe(
    "Folder the agent's file tools are confined to (default: <data dir>/workspace/<id>).",
  ),
  egress: EgressSchema.optional().describe(
    "Extra egress allow-list entries for this agent's tools (added to the global egress list).",
  ),
  fallbacks: z.array(z.union([z.string().min(1), ProviderSchema])).optional().describe(
    "Models tried in order when this agent's model is rate-limited, down or times out (never on auth errors or refusals): a model id on the same provider, or a whole provider entry.",
  ),
  allowNonConfidentialFallback: z.boolean().optional().describe(
    "Let a confidential provider (tinfoil, privatemode) fall over to a non-confidential one; without it such fallbacks are skipped.",
  ),
});

/** Routes a channel (optionally one conversation of it) to an agent. */
export const RouteSchema = z.strictObject({
  channel: z.union([z.enum(CHANNELS), z.literal("webchat")]).describe("Where messages come from."),
  conversation: z.string().min(1).optional().describe("Only this conversation (default: all)."),
  sender: z.string().min(1).optional().describe("Only this sender (default: everyone)."),
  agent: agentId.describe("The agent that answers."),
});

/** Limits applied to every source, loopback included. */
export const LimitsSchema = z.strictObject({
  messagesPerMinute: z.number().int().positive().default(20).describe(
    "Per sender and channel; WebChat and `wirken ask` count too.",
  ),
  channelMessagesPerMinute: z.number().int().positive().default(60).describe(
    "Per channel, all senders together (WebChat and `wirken ask` are channels too).",
  ),
  globalMessagesPerMinute: z.number().int().positive().default(120).describe(
    "Across every channel of this gateway.",
  ),
  toolRoundsPerTurn: z.number().int().min(1).max(20).default(20).describe(
    "Tool-call rounds the agent may take in one turn (never above 20).",
  ),
  toolCallsPerRound: z.number().int().min(1).max(64).default(16).describe(
    "Tool calls run from one model answer; the rest are refused and the model told why.",
  ),
  toolCallsPerTurn: z.number().int().min(1).max(256).default(64).describe(
    "Tool calls run in one turn, all rounds together; later calls are refused.",
  ),
  execTimeoutSeconds: z.number().int().min(1).max(300).default(300).describe(
    "Wall-clock limit of one shell command.",
  ),
});

/** WebChat settings. */
export const WebChatSchema = z.strictObject({
  port: z.number().int().min(1).max(65535).default(18790).describe(
    "Loopback port of WebChat (overridden by --port or WIRKEN_PORT).",
  ),
});

/** Audit log settings. */
export const AuditConfigSchema = z.strictObject({
  retentionDays: z.number().int().min(1).max(36500).default(90).describe(
    "Events older than this many days are pruned, at start and daily, behind a signed checkpoint.",
  ),
});

/** The SIEM wire formats wirken speaks. */
export const SIEM_KINDS = ["datadog", "splunk", "webhook"] as const;

/** One SIEM destination; its key lives in the vault. */
export const SiemDestinationSchema = z.strictObject({
  name: agentId.describe("Destination name, used in status, logs and the default credential name."),
  kind: z.enum(SIEM_KINDS).describe("Datadog logs intake, Splunk HEC, or a signed JSON webhook."),
  url: z.url().optional().describe(
    "Endpoint (https:// unless loopback); required for splunk and webhook, datadog defaults to the US1 logs intake.",
  ),
  credential: z.string().min(1).optional().describe(
    "Vault credential with the API key, HEC token or HMAC secret (default siem.<name>.api_key, .token or .hmac_secret).",
  ),
  enabled: z.boolean().default(true).describe("Forward to this destination."),
  batchSize: z.number().int().min(1).max(1000).default(100).describe("Events per request."),
  service: z.string().min(1).default("wirken").describe("Datadog service / Splunk source."),
  tags: z.array(z.string().min(1)).default([]).describe("Datadog ddtags, e.g. env:prod."),
  index: z.string().min(1).optional().describe("Splunk index (default: the token's)."),
}).refine((d) => d.kind === "datadog" || d.url !== undefined, {
  message: "url is required for splunk and webhook destinations",
  path: ["url"],
});

/** SIEM forwarding: every audit event, in order, to each destination. */
export const SiemSchema = z.strictObject({
  destinations: z.array(SiemDestinationSchema).default([]).describe(
    "Where audit events are forwarded (none by default).",
  ).refine((ds) => new Set(ds.map((d) => d.name)).size === ds.length, {
    message: "destination names must be unique",
  }),
});

/** The organisation whose signed policy this gateway follows (`wirken setup --org`). */
export const OrgSchema = z.strictObject({
  url: z.url().describe(
    "Where the signed policy is fetched (HTTPS) at setup and every `wirken run`.",
  ),
  fingerprint: z.string().regex(/^sha256:[0-9a-f]{64}$/, "sha256: followed by 64 hex digits")
    .describe("Pinned SHA-256 fingerprint of the org's Ed25519 policy key."),
});

/** An MCP server name: also the prefix of its tools, so kept short and plain. */
const mcpServerName = z.string().regex(
  /^[a-z0-9][a-z0-9_-]{0,31}$/,
  "use lowercase letters, digits, '-' or '_' (at most 32), starting with a letter or digit",
);

/** A permission tier: 1 runs freely, 2 asks on first use, 3 asks every time. */
const tier = z.union([z.literal(1), z.literal(2), z.literal(3)]);

/** One MCP server: a stdio command or a streamable HTTP URL. */
export const McpServerSchema = z.strictObject({
  command: z.array(z.string().min(1)).min(1).optional().describe(
    'stdio transport: program and arguments, e.g. ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv"].',
  ),
  url: z.url().optional().describe("Streamable HTTP transport: the server's endpoint URL."),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe(
    "stdio: extra non-secret environment variables (the gateway's own environment is not passed).",
  ),
  secretEnv: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().min(1)).default({})
    .describe("stdio: environment variable -> name of the vault credential holding its value."),
  headers: z.record(z.string().min(1), z.string().min(1)).default({}).describe(
    "HTTP: header name -> name of the vault credential holding its value.",
  ),
  enabled: z.boolean().default(true).describe("Start this server with the gateway."),
  defaultTier: tier.default(2).describe("Permission tier of this server's tools (default 2)."),
  tiers: z.record(z.string().min(1), tier).default({}).describe(
    "Per-tool tier overrides, keyed by the server's own tool name.",
  ),
  timeoutSeconds: z.number().int().min(1).max(600).default(60).describe(
    "A tool call that takes longer is cancelled and reported as timed out.",
  ),
  sandbox: z.boolean().default(false).describe(
    "stdio: run the server inside the gateway's sandbox (bubblewrap) instead of on the host.",
  ),
}).refine((s) => (s.command === undefined) !== (s.url === undefined), {
  message: "give exactly one of command (stdio) or url (streamable HTTP)",
});

/** MCP settings. */
export const McpSchema = z.strictObject({
  servers: z.record(mcpServerName, McpServerSchema).default({}).describe(
    "MCP servers by name; their tools are offered to the model as mcp_<name>_<tool>.",
  ),
});

const ed25519Key = z.string().regex(
  /^[A-Za-z0-9+/]{43}=$/,
  "a base64 Ed25519 public key (44 chars)",
);

/** Skills: the signed registry and the keys trusted for skill signatures. */
export const SkillsConfigSchema = z.strictObject({
  registry: z.strictObject({
    url: z.string().min(1).describe("Registry index: an HTTPS URL or a local folder."),
    publicKey: ed25519Key.describe(
      "The registry's Ed25519 key; skill signatures are checked against it, never a key the skill brings.",
    ),
  }).optional().describe("Where `wirken skills search|install` look; absent: no registry."),
  trustedKeys: z.array(ed25519Key).default([]).describe(
    "Extra publisher keys whose skill signatures are accepted (e.g. your own from `skills sign`).",
  ),
  allowUnsigned: z.array(z.string().min(1)).default([]).describe(
    "Skills allowed to load without a valid signature (set by `skills install --allow-unsigned`, audited).",
  ),
  signingKey: z.string().min(1).default("skills.signing_key").describe(
    "Vault credential holding your base64 Ed25519 seed for `wirken skills sign`.",
  ),
});

/** Built-in tools, where they run, and how approvals behave. */
export const ToolsSchema = z.strictObject({
  sandbox: z.enum(["auto", "bwrap", "docker", "host"]).default("auto").describe(
    "Where shell commands run: auto = bubblewrap if usable, else Docker/Podman, else refuse; host = no sandbox (explicit opt-in, shown in every approval prompt).",
  ),
  docker: z.strictObject({
    engine: z.enum(["docker", "podman"]).default("docker").describe("Container engine CLI."),
    image: z.string().min(1).default("debian:bookworm-slim").describe(
      "Image for shell commands; it must already be present (nothing is pulled).",
    ),
    user: z.string().regex(/^\d+:\d+$/, "uid:gid").optional().describe(
      "uid:gid inside the container (default: the gateway's own, or 65534 when it runs as root).",
    ),
  }).default({ engine: "docker", image: "debian:bookworm-slim" }).describe(
    "Docker/Podman sandbox settings.",
  ),
  memoryMb: z.number().int().min(16).max(65536).default(512).describe(
    "Memory limit of one sandboxed command, in MiB.",
  ),
  maxProcesses: z.number().int().min(8).max(65536).default(256).describe(
    "Process limit of one sandboxed command.",
  ),
  outputLimitBytes: z.number().int().min(1024).max(1048576).default(32768).describe(
    "Bytes of stdout and of stderr kept per command; the rest is cut and marked truncated.",
  ),
  execNetwork: z.boolean().default(false).describe(
    "Give exec commands HTTP(S) through the gateway's egress proxy, only to hosts on the agent's egress allow-list (bubblewrap only; checked after DNS, refusals audited). Off: no network at all.",
  ),
  readMaxBytes: z.number().int().min(1024).max(67108864).default(1048576).describe(
    "Largest part of a file read_file returns (longer files are truncated and marked).",
  ),
  writeMaxBytes: z.number().int().min(1024).max(67108864).default(1048576).describe(
    "Largest file write_file/edit_file may write.",
  ),
  tiers: z.record(z.string(), z.union([z.literal(1), z.literal(2), z.literal(3)])).default({})
    .describe(
      "Per-tool permission tiers; can only raise a tool above its built-in tier, never lower it.",
    ),
  extraRoots: z.array(z.strictObject({
    path: z.string().regex(/^\//, "an absolute path").describe("Folder outside the workspace."),
    write: z.boolean().default(false).describe("Allow write_file/edit_file there (tier 3)."),
  })).default([]).describe(
    "Folders outside the workspace the file tools may use by absolute path: reading asks once (tier 2, remembered 30 days), writing asks every time (tier 3).",
  ),
  approvalTimeoutSeconds: z.number().int().min(10).max(3600).default(300).describe(
    "How long an approval request waits before it expires as denied.",
  ),
  webSearch: z.strictObject({
    kind: z.enum(["searxng", "brave"]).describe("Search backend."),
    url: z.url().describe("SearXNG instance URL, or Brave's API endpoint."),
    credential: z.string().min(1).optional().describe(
      "Vault credential holding the API key (Brave); never the key itself.",
    ),
  }).optional().describe("Backend of web_search; absent: web_search explains how to set one."),
  webFetchMaxBytes: z.number().int().min(1024).max(16777216).default(2097152).describe(
    "Largest response body web_fetch downloads.",
  ),
  webTimeoutSeconds: z.number().int().min(1).max(120).default(30).describe(
    "Time limit of one web_search or web_fetch request.",
  ),
});

/** How model failover treats a failing endpoint. */
export const FailoverSchema = z.strictObject({
  breakerFailures: z.number().int().min(1).max(100).default(3).describe(
    "Failed calls in a row after which an endpoint is skipped for breakerSeconds.",
  ),
  breakerSeconds: z.number().int().min(1).max(86400).default(60).describe(
    "How long an endpoint whose breaker opened is skipped (the next model answers).",
  ),
});

/** Price of one model, in US dollars per million tokens. */
export const PriceSchema = z.strictObject({
  input: z.number().min(0).describe("USD per million input (prompt) tokens."),
  output: z.number().min(0).describe("USD per million output (completion) tokens."),
});

/** One budget: any of its limits that is set applies. */
export const BudgetSchema = z.strictObject({
  dailyTokens: z.number().int().positive().optional().describe(
    "Input plus output tokens per UTC day.",
  ),
  monthlyTokens: z.number().int().positive().optional().describe(
    "Input plus output tokens per UTC calendar month.",
  ),
  dailyUsd: z.number().positive().optional().describe("Cost in USD per UTC day."),
  monthlyUsd: z.number().positive().optional().describe("Cost in USD per UTC calendar month."),
  warnAt: z.number().min(0).max(1).default(0.8).describe(
    "Share of a limit at which the answer carries a warning (0.8 = 80%).",
  ),
});

/** Usage budgets: a turn that would pass one is refused with a message and audited. */
export const BudgetsSchema = z.strictObject({
  agents: z.record(agentId, BudgetSchema).default({}).describe("Budget of each agent, by id."),
  perSender: BudgetSchema.optional().describe(
    "Budget every sender has on their own (each channel + sender counted separately).",
  ),
  senders: z.record(z.string().regex(/^[a-z]+:.+$/, "<channel>:<sender id>"), BudgetSchema)
    .default({}).describe("Budgets of particular senders, keyed <channel>:<sender id>."),
});

/** Settings of one conversation or group; they can only narrow what its agent may do. */
export const ConversationSettingsSchema = z.strictObject({
  channel: z.union([z.enum(CHANNELS), z.literal("webchat")]).describe(
    "The conversation's channel.",
  ),
  conversation: z.string().min(1).describe("Conversation (chat, group, room) id on that channel."),
  agent: agentId.optional().describe("Agent that answers here (overrides routes)."),
  model: z.string().min(1).optional().describe("Model id here, on the agent's provider."),
  systemPrompt: z.string().min(1).optional().describe(
    "Added to the agent's instructions in this conversation.",
  ),
  tools: z.array(z.string().min(1)).optional().describe(
    "Tools allowed here; intersected with the agent's own list (never adds a tool).",
  ),
  allowFrom: z.array(z.string().min(1)).optional().describe(
    "Senders who may talk to the bot here; intersected with the channel's allowFrom.",
  ),
  groupMode: z.enum(["mention", "all"]).optional().describe(
    "In a group: `mention` answers only messages that mention or reply to the bot, `all` every " +
      "message (default: the channel's <CHANNEL>_GROUP_MODE variable, else mention). Threads " +
      "of the group follow it unless they have their own entry.",
  ),
});

/**
 * The group mention rules of each channel travel in its adapter's start-up bundle, which has
 * room for a bounded number; refusing more here means a clear error at config load instead of
 * an adapter that fails at every start.
 */
function groupModesFit(
  conversations: z.infer<typeof ConversationSettingsSchema>[],
  ctx: z.RefinementCtx,
): void {
  const perChannel = new Map<string, Record<string, string>>();
  conversations.forEach((c, i) => {
    if (!c.groupMode) return;
    if (c.conversation.length > MAX_GROUP_MODE_ID) {
      ctx.addIssue({
        code: "custom",
        path: [i, "conversation"],
        message:
          `a conversation with a groupMode may have an id of at most ${MAX_GROUP_MODE_ID} characters`,
      });
    }
    const modes = perChannel.get(c.channel) ?? {};
    modes[c.conversation] = c.groupMode;
    perChannel.set(c.channel, modes);
  });
  for (const [channel, modes] of perChannel) {
    const count = Object.keys(modes).length;
    const bytes = new TextEncoder().encode(JSON.stringify(modes)).length;
    if (count > MAX_GROUP_MODES || bytes > MAX_GROUP_MODES_BYTES) {
      ctx.addIssue({
        code: "custom",
        message:
          `${channel} has ${count} conversations with a groupMode (${bytes} bytes of ids); ` +
          `at most ${MAX_GROUP_MODES} and ${MAX_GROUP_MODES_BYTES} bytes fit its adapter's ` +
          `start-up. Remove the groupMode of conversations that use the default, or set ` +
          `${channel.toUpperCase()}_GROUP_MODE=all and list only the groups that differ.`,
      });
    }
  }
}

/** The whole `config.json`. */
export const ConfigSchema = z.strictObject({
  version: z.literal(1).default(1).describe("Config format version."),
  provider: ProviderSchema.optional().describe("The default LLM; absent until `wirken setup`."),
  channels: z.partialRecord(z.enum(CHANNELS), ChannelConfigSchema).default({}).describe(
    "Configured chat channels, keyed by channel id.",
  ),
  agents: z.array(AgentSchema).default([{ id: "default" }]).describe(
    "Agents; `default` answers whatever no route names.",
  ),
  routes: z.array(RouteSchema).default([]).describe("Channel -> agent bindings."),
  limits: LimitsSchema.default(LimitsSchema.parse({})).describe("Rate and loop limits."),
  webchat: WebChatSchema.default(WebChatSchema.parse({})).describe("WebChat settings."),
  org: OrgSchema.optional().describe("Organisation policy pin; absent for personal installs."),
  audit: AuditConfigSchema.default(AuditConfigSchema.parse({})).describe("Audit log retention."),
  siem: SiemSchema.default(SiemSchema.parse({})).describe("SIEM forwarding of audit events."),
  skills: SkillsConfigSchema.default(SkillsConfigSchema.parse({})).describe(
    "Skill registry and signature trust.",
  ),
  mcp: McpSchema.default(McpSchema.parse({})).describe("Model Context Protocol servers."),
  egress: EgressSchema.default(EgressSchema.parse({})).describe(
    "Global egress allow-list: hosts every agent's tools may reach (nothing by default).",
  ),
  tools: ToolsSchema.default(ToolsSchema.parse({})).describe(
    "Built-in tools, sandboxes and approvals.",
  ),
  failover: FailoverSchema.default(FailoverSchema.parse({})).describe(
    "Circuit breaker of model failover (each agent lists its fallbacks).",
  ),
  prices: z.record(z.string().min(1), PriceSchema).default({}).describe(
    "Price overrides keyed <kind>:<model> or <model>, over the built-in price table.",
  ),
  budgets: BudgetsSchema.default(BudgetsSchema.parse({})).describe(
    "Token and cost budgets per agent and per sender (none by default).",
  ),
  conversations: z.array(ConversationSettingsSchema).superRefine(groupModesFit).default([])
    .describe(
      "Per-conversation/group settings: agent, model, prompt addition, narrower tools and senders.",
    ),
});

/** A validated configuration, with defaults filled in. */
export type Config = z.infer<typeof ConfigSchema>;
/** One MCP server's settings, defaults filled in. */
export type McpServerSettings = z.infer<typeof McpServerSchema>;
/** The skills section. */
export type SkillsConfig = z.infer<typeof SkillsConfigSchema>;
/** One SIEM destination, defaults filled in. */
export type SiemDestination = z.infer<typeof SiemDestinationSchema>;
/** The provider section. */
export type ProviderConfig = z.infer<typeof ProviderSchema>;
