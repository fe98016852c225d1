/**
 * The MCP client manager: connects to the configured Model Context Protocol servers (stdio
 * child processes or streamable HTTP endpoints) with `@modelcontextprotocol/sdk`, lists their
 * tools under a `mcp_<server>_<tool>` prefix with a permission tier each, validates arguments
 * against the server's input schema before calling, times out hanging calls, and restarts a
 * server that dies, with exponential backoff.
 *
 * The SDK is loaded lazily (on the first connect), so a gateway without MCP servers never pays
 * for it. Secrets (env values, HTTP headers) come from the vault by name and travel to the SDK
 * only at connect time; they are never logged.
 *
 * @module
 */
import { z } from "zod";
import type { McpServerSettings } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { requireSecureUrl } from "../net/secure_url.ts";
import type { CredentialStore } from "../vault/types.ts";
import { type McpEgressOptions, type McpFetch, mcpFetch } from "./egress.ts";
import { McpError } from "./errors.ts";
import { type McpToolResult, renderResult, ToolResultSchema } from "./result.ts";

/** A permission tier (1 free, 2 first-use approval, 3 always ask). */
export type Tier = 1 | 2 | 3;

/** One configured server: its name plus the config section. */
export interface McpServerConfig extends McpServerSettings {
  name: string;
}

/** A tool offered by a server, as the agent sees it. */
export interface McpToolInfo {
  /** The server's name. */
  server: string;
  /** The tool's own name on that server. */
  tool: string;
  /** The prefixed, model-safe name: `mcp_<server>_<tool>` (at most 64 characters). */
  name: string;
  description: string;
  /** The server's JSON Schema for the arguments (offered to the model as is). */
  inputSchema: Record<string, unknown>;
  tier: Tier;
  /** MCP tool annotations, when the server gives them (hints only, never trusted for tiers). */
  annotations?: Record<string, unknown>;
}

/** A server's state, for `wirken mcp list` and the status page. */
export interface McpServerStatus {
  name: string;
  transport: "stdio" | "http";
  state: "stopped" | "connecting" | "ready" | "restarting" | "failed";
  tools: number;
  restarts: number;
  /** The last error, when there was one. */
  error?: string;
}

/** The SDK surface the manager uses; tests of the manager's logic can pass a fake. */
export interface McpClientLike {
  listTools(params?: { cursor?: string }): Promise<unknown>;
  callTool(
    params: { name: string; arguments?: Record<string, unknown> },
    resultSchema?: undefined,
    options?: { timeout?: number; signal?: AbortSignal; maxTotalTimeout?: number },
  ): Promise<unknown>;
  close(): Promise<void>;
  onclose?: () => void;
}

/** Connects one server; the default uses the SDK. */
export type McpConnector = (
  server: McpServerConfig,
  resolved: ResolvedServer,
) => Promise<{ client: McpClientLike; pid?: number }>;

/** What a connector gets besides the config: secrets filled in, the wrapped command. */
export interface ResolvedServer {
  env: Record<string, string>;
  headers: Record<string, string>;
  command?: string[];
  /** HTTP servers: the egress-checked `fetch` every request of the transport must use. */
  fetch?: McpFetch;
}

/** Restart policy after a crash. */
export interface RestartPolicy {
  /** First delay. */
  initialMs: number;
  /** Delay cap. */
  maxMs: number;
  /** Give up after this many consecutive failed restarts. */
  maxAttempts: number;
}

/** What the manager needs. */
export interface McpManagerOptions {
  /** Vault, for `secretEnv` and `headers`; without it such servers fail with a clear error. */
  credentials?: CredentialStore;
  log?: Logger;
  /**
   * Wraps a stdio command for servers with `sandbox: true` (the gateway passes its sandbox's
   * wrapper, e.g. bubblewrap). Without one, such servers fail rather than run unsandboxed.
   */
  sandboxWrap?: (argv: readonly string[]) => string[];
  restart?: Partial<RestartPolicy>;
  /**
   * Egress rules for HTTP servers (see `egress.ts`). Always applied: without this option only
   * each server's own URL is allowed.
   */
  egress?: McpEgressOptions;
  /** Replaces the SDK connector (tests). */
  connect?: McpConnector;
}

const ToolListSchema = z.looseObject({
  tools: z.array(z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    inputSchema: z.record(z.string(), z.unknown()).optional(),
    annotations: z.record(z.string(), z.unknown()).optional(),
  })),
  nextCursor: z.string().optional(),
});

interface ServerState {
  config: McpServerConfig;
  status: McpServerStatus;
  client?: McpClientLike;
  pid?: number;
  tools: McpToolInfo[];
  validators: Map<string, z.ZodType>;
  /** Resolves when the current (re)connect attempt ends. */
  ready?: Promise<void>;
  timer?: ReturnType<typeof setTimeout>;
  attempts: number;
}

/** Makes `mcp_<server>_<tool>` fit OpenAI/Anthropic tool-name rules: `[a-zA-Z0-9_-]{1,64}`. */
export function prefixedToolName(server: string, tool: string): string {
  const clean = tool.replace(/[^a-zA-Z0-9_-]/g, "_");
  const name = `mcp_${server}_${clean}`;
  if (name.length <= 64 && clean === tool) return name;
  // Shortened or changed names get a hash of the original so two tools never collide.
  let h = 0;
  for (const c of tool) h = (Math.imul(h, 31) + c.codePointAt(0)!) >>> 0;
  const suffix = `_${h.toString(36)}`;
  return name.slice(0, 64 - suffix.length) + suffix;
}

/** The manager. Construct, `start()`, then `listTools()` / `callTool()`; `close()` at the end. */
export class McpManager {
  readonly #servers = new Map<string, ServerState>();
  readonly #options: McpManagerOptions;
  readonly #restart: RestartPolicy;
  #closing = false;

  /** Takes the configured servers (disabled ones are listed as stopped). */
  constructor(servers: readonly McpServerConfig[], options: McpManagerOptions = {}) {
    this.#options = options;
    this.#restart = { initialMs: 500, maxMs: 30_000, maxAttempts: 8, ...options.restart };
    for (const config of servers) {
      this.#servers.set(config.name, {
        config,
        status: {
          name: config.name,
          transport: config.command ? "stdio" : "http",
          state: "stopped",
          tools: 0,
          restarts: 0,
        },
        tools: [],
        validators: new Map(),
        attempts: 0,
      });
    }
  }

  /**
   * Connects every enabled server in parallel. A server that fails is marked `failed` with
   * the reason (see {@linkcode status}); it does not stop the others.
   */
  async start(): Promise<void> {
    await Promise.all(
      [...this.#servers.values()].filter((s) => s.config.enabled).map((s) => this.#connect(s)),
    );
  }

  /** Every server's state. */
  status(): McpServerStatus[] {
    return [...this.#servers.values()].map((s) => ({ ...s.status }));
  }

  /** Every tool of every ready server. */
  listTools(): McpToolInfo[] {
    return [...this.#servers.values()].flatMap((s) => s.status.state === "ready" ? s.tools : []);
  }

  /** The pid of a stdio server's child (tests use it to simulate a crash). */
  pidOf(server: string): number | undefined {
    return this.#servers.get(server)?.pid;
  }

  /**
   * Calls a tool by its prefixed name. Arguments are validated against the server's input
   * schema first; a call running past the server's `timeoutSeconds` is cancelled. Waits for a
   * server that is restarting (within the same timeout).
   */
  async callTool(name: string, args: unknown, signal?: AbortSignal): Promise<McpToolResult> {
    const found = this.#find(name);
    if (!found) {
      throw new McpError(`There is no MCP tool named ${name}.`, {
        fix: "List tools with `wirken mcp list`; the server may be down or the name mistyped.",
      });
    }
    const { state, tool } = found;
    const timeoutMs = state.config.timeoutSeconds * 1000;
    if (state.status.state !== "ready" && state.ready) {
      await Promise.race([state.ready, delay(timeoutMs)]);
    }
    if (state.status.state !== "ready" || !state.client) {
      throw new McpError(`The MCP server ${state.config.name} is ${state.status.state}.`, {
        fix: state.status.error ?? "Check `wirken mcp list` and the server's command.",
      });
    }
    const validator = state.validators.get(tool.tool);
    const checked = validator ? validator.safeParse(args ?? {}) : { success: true as const };
    if (!checked.success) {
      const issues = checked.error.issues.slice(0, 5).map((i) =>
        `${i.path.length ? i.path.join(".") : "(arguments)"}: ${i.message}`
      );
      throw new McpError(`Invalid arguments for ${name}: ${issues.join("; ")}`, {
        fix: "Call the tool again with arguments matching its input schema.",
      });
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      throw new McpError(`Invalid arguments for ${name}: must be an object.`, {
        fix: "Pass the arguments as a JSON object.",
      });
    }
    let raw: unknown;
    try {
      raw = await state.client.callTool(
        { name: tool.tool, arguments: args as Record<string, unknown> },
        undefined,
        { timeout: timeoutMs, maxTotalTimeout: timeoutMs, signal },
      );
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      if (/timed out|timeout/i.test(msg)) {
        throw new McpError(
          `The MCP tool ${name} timed out after ${state.config.timeoutSeconds} s.`,
          { fix: `Raise mcp.servers.${state.config.name}.timeoutSeconds if it needs longer.` },
        );
      }
      if (/connection closed/i.test(msg)) {
        throw new McpError(
          `The MCP server ${state.config.name} exited during the call to ${name}.`,
          {
            fix:
              "It is restarted automatically; the call was not retried (it may have had effects).",
            cause: e,
          },
        );
      }
      // An HTTP server that went away (no answer, or a 404 for a session it no longer knows
      // after its own restart) gets the same treatment as a stdio server that exited.
      const code = (e as { code?: unknown }).code;
      if (state.status.transport === "http" && (code === undefined || code === 404)) {
        this.#onClose(state, state.client);
        throw new McpError(`The MCP server ${state.config.name} did not answer: ${msg}`, {
          fix: "It is reconnected automatically; the call was not retried.",
          cause: e,
        });
      }
      throw new McpError(`The MCP tool ${name} failed: ${msg}`, {
        fix: "See the server's own logs; the call was not retried.",
        cause: e,
      });
    }
    const parsed = ToolResultSchema.safeParse(raw);
    if (!parsed.success) {
      throw new McpError(`The MCP server ${state.config.name} returned a malformed result.`, {
        fix: "The server does not follow the MCP tool result format; report it to its authors.",
      });
    }
    return renderResult(parsed.data);
  }

  /** Stops every server and cancels pending restarts. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#servers.values()].map(async (s) => {
      if (s.timer !== undefined) clearTimeout(s.timer);
      const c = s.client;
      s.client = undefined;
      s.status.state = "stopped";
      await c?.close().catch(() => {});
    }));
  }

  #find(name: string): { state: ServerState; tool: McpToolInfo } | undefined {
    for (const state of this.#servers.values()) {
      const tool = state.tools.find((t) => t.name === name);
      if (tool) return { state, tool };
    }
    return undefined;
  }

  #connect(state: ServerState): Promise<void> {
    state.status.state = state.status.restarts > 0 ? "restarting" : "connecting";
    const attempt = (async () => {
      try {
        const resolved = this.#resolve(state.config);
        const connector = this.#options.connect ?? sdkConnector;
        const { client, pid } = await connector(state.config, resolved);
        if (this.#closing) {
          await client.close().catch(() => {});
          return;
        }
        state.client = client;
        state.pid = pid;
        await this.#loadTools(state);
        client.onclose = () => this.#onClose(state, client);
        state.status.state = "ready";
        state.status.error = undefined;
        state.attempts = 0;
        this.#options.log?.info("mcp server ready", {
          server: state.config.name,
          tools: state.tools.length,
        });
      } catch (e) {
        state.status.state = "failed";
        state.status.error = e instanceof Error ? e.message : String(e);
        this.#options.log?.warn("mcp server failed", {
          server: state.config.name,
          error: state.status.error,
        });
        const c = state.client;
        state.client = undefined;
        await c?.close().catch(() => {});
        if (state.status.restarts > 0) this.#scheduleRestart(state);
      }
    })();
    state.ready = attempt;
    return attempt;
  }

  #onClose(state: ServerState, client: McpClientLike): void {
    if (this.#closing || state.client !== client) return;
    state.client = undefined;
    state.status.state = "restarting";
    state.status.error = "the server exited";
    this.#options.log?.warn("mcp server exited; restarting", { server: state.config.name });
    this.#scheduleRestart(state);
  }

  #scheduleRestart(state: ServerState): void {
    if (this.#closing) return;
    if (state.attempts >= this.#restart.maxAttempts) {
      state.status.state = "failed";
      state.status.error = `gave up after ${state.attempts} restarts: ${state.status.error ?? ""}`;
      return;
    }
    const wait = Math.min(this.#restart.maxMs, this.#restart.initialMs * 2 ** state.attempts);
    state.attempts++;
    state.status.restarts++;
    state.status.state = "restarting";
    // Callers waiting in callTool see this promise and wait for the reconnect.
    let release!: () => void;
    state.ready = new Promise<void>((r) => (release = r));
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.#connect(state).finally(release);
    }, wait);
  }

  async #loadTools(state: ServerState): Promise<void> {
    const client = state.client!;
    const tools: McpToolInfo[] = [];
    const validators = new Map<string, z.ZodType>();
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const parsed = ToolListSchema.safeParse(await client.listTools(cursor ? { cursor } : {}));
      if (!parsed.success) throw new Error("the server's tool list is malformed");
      for (const t of parsed.data.tools) {
        const inputSchema = t.inputSchema ?? { type: "object" };
        tools.push({
          server: state.config.name,
          tool: t.name,
          name: prefixedToolName(state.config.name, t.name),
          description: t.description ?? "",
          inputSchema,
          tier: state.config.tiers[t.name] ?? state.config.defaultTier,
          annotations: t.annotations,
        });
        validators.set(t.name, validatorFor(inputSchema));
      }
      cursor = parsed.data.nextCursor;
      if (!cursor) break;
    }
    state.tools = tools;
    state.validators = validators;
    state.status.tools = tools.length;
  }

  #resolve(config: McpServerConfig): ResolvedServer {
    const secret = (credential: string, what: string): string => {
      const value = this.#options.credentials?.get(credential);
      if (!value) {
        throw new McpError(
          `The MCP server ${config.name} needs the credential ${credential} (${what}), which is not in the vault.`,
          { fix: `Add it with \`wirken credentials add ${credential}\`.` },
        );
      }
      return value.reveal();
    };
    // Same rule as every other outbound URL: HTTPS, or plain HTTP only to this machine.
    const url = config.url ? requireSecureUrl(config.url, `MCP server ${config.name}`) : undefined;
    const env: Record<string, string> = { ...config.env };
    for (const [k, cred] of Object.entries(config.secretEnv)) env[k] = secret(cred, `env ${k}`);
    const headers: Record<string, string> = {};
    for (const [h, cred] of Object.entries(config.headers)) {
      headers[h] = secret(cred, `header ${h}`);
    }
    let command = config.command ? [...config.command] : undefined;
    if (command && config.sandbox) {
      if (!this.#options.sandboxWrap) {
        throw new McpError(
          `The MCP server ${config.name} is set to run sandboxed, but no sandbox is available.`,
          { fix: "Install bubblewrap, or set sandbox: false for this server if you trust it." },
        );
      }
      command = this.#options.sandboxWrap(command);
    }
    const fetch = url ? mcpFetch(config.name, url, this.#options.egress) : undefined;
    return { env, headers, command, fetch };
  }
}

/** A validator from a JSON Schema; schemas zod cannot read fall back to "any object". */
function validatorFor(schema: Record<string, unknown>): z.ZodType {
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    // The server validates too; refusing every call because its schema uses a feature zod
    // does not convert would make the tool unusable.
    return z.record(z.string(), z.unknown());
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The real connector: the MCP SDK over stdio or streamable HTTP. */
const sdkConnector: McpConnector = async (server, resolved) => {
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
  const client = new Client({ name: "wirken", version: "0.1.0" }, { capabilities: {} });
  if (resolved.command) {
    const { StdioClientTransport, getDefaultEnvironment } = await import(
      "@modelcontextprotocol/sdk/client/stdio.js"
    );
    const [command, ...args] = resolved.command;
    const transport = new StdioClientTransport({
      command,
      args,
      // Only the SDK's safe defaults (PATH, HOME, ...) plus what config names: the gateway's
      // own environment (API keys) never leaks into a server.
      env: { ...getDefaultEnvironment(), ...resolved.env },
      stderr: "pipe",
    });
    // Drain stderr so a chatty server never blocks on a full pipe.
    transport.stderr?.on("data", () => {});
    await client.connect(transport);
    return { client: client as unknown as McpClientLike, pid: transport.pid ?? undefined };
  }
  const { StreamableHTTPClientTransport } = await import(
    "@modelcontextprotocol/sdk/client/streamableHttp.js"
  );
  if (!resolved.fetch) {
    throw new McpError(`No egress-checked fetch for the MCP server ${server.name}.`, {
      fix: "This is a bug in wirken; please report it.",
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(server.url!), {
    requestInit: { headers: resolved.headers },
    // Every request (and every same-origin redirect the SDK follows) is checked by the guard.
    fetch: resolved.fetch,
  });
  await client.connect(transport);
  return { client: client as unknown as McpClientLike };
};
