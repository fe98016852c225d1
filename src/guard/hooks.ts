/**
 * The guard at the gateway's exits: functions and wrappers the composition root puts around
 * everything that leaves (chat replies, provider requests, tool arguments, SIEM events) and
 * around tools (whose results enter the conversation as untrusted content).
 *
 * A secret in outgoing text is replaced by `[REDACTED:<name>]`; a tool call carrying one is
 * refused before it runs. Each is audited as `leak.blocked` with the credential names and
 * encodings found, never the values. Redaction and refusal happen whether or not the audit
 * append succeeds: an unrecorded block is still better than a recorded leak.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import { WirkenError } from "../errors.ts";
import { isSecret, REDACTED } from "../secret.ts";
import type { ChatMessage, ChatRequest, Provider } from "../providers/types.ts";
import type { Tool, ToolResult } from "../tools/types.ts";
import type { EgressRefusedError } from "./egress.ts";
import { applyRedactions, type SecretHit, type SecretScanner } from "./scan.ts";
import { sourceKindOfTool, type UntrustedTracker } from "./untrusted.ts";

/** Where outgoing data goes. */
export type EgressKind =
  | "reply"
  | "provider"
  | "tool"
  | "tool-result"
  | "siem"
  | "log"
  | "mcp"
  | "webhook";

/** Who and where, for the audit event. */
export interface GuardWhere {
  kind: EgressKind;
  /** A channel, a provider id, a tool name, a SIEM destination: shown in the audit event. */
  destination?: string;
  agent?: string;
  session?: string;
  channel?: string;
  /** Who caused it (default `gateway`). */
  actor?: string;
}

/** What every guard function needs. */
export interface LeakGuard {
  scanner: SecretScanner;
  /** Where `leak.blocked` events go; absent: not audited (tests, log path). */
  audit?: AuditSink;
  /** Rebuild the scanner first when the vault changed (default true; metadata-only check). */
  refresh?: boolean;
  /**
   * Look at the vault's metadata at most this often (default 1000 ms). Call
   * `scanner.refresh()` right after changing a credential to skip the wait.
   */
  refreshEveryMs?: number;
}

/** A value could not be cleaned without breaking its structure, so it must not be sent. */
export class LeakBlockedError extends WirkenError {
  /** What was found (names and encodings only). */
  readonly hits: readonly SecretHit[];
  /** Builds the error; `what` names the destination. */
  constructor(what: string, hits: readonly SecretHit[]) {
    super(`Blocked: ${what} contained a secret (${hitNames(hits)}) and was not sent.`, {
      fix: "Nothing to do: secrets never leave the gateway. The event is in the audit log.",
    });
    this.hits = hits;
  }
}

function hitNames(hits: readonly SecretHit[]): string {
  return [...new Set(hits.map((h) => h.name))].join(", ");
}

/** Audit form of hits: one entry per name and encoding, without positions or values. */
function summarize(
  hits: readonly SecretHit[],
): { name: string; source: string; encoding: string }[] {
  const seen = new Map<string, { name: string; source: string; encoding: string }>();
  for (const h of hits) {
    seen.set(`${h.name}\u0000${h.encoding}`, {
      name: h.name,
      source: h.source,
      encoding: h.encoding,
    });
  }
  return [...seen.values()];
}

async function auditLeak(
  g: LeakGuard,
  where: GuardWhere,
  hits: readonly SecretHit[],
  action: "redacted" | "refused",
  extra: Record<string, unknown> = {},
): Promise<boolean> {
  if (!g.audit) return false;
  try {
    await g.audit.append({
      kind: "leak.blocked",
      agent: where.agent,
      session: where.session,
      channel: where.channel,
      actor: where.actor ?? "gateway",
      payload: {
        where: where.kind,
        ...(where.destination ? { destination: where.destination } : {}),
        action,
        hits: summarize(hits),
        ...extra,
      },
    });
    return true;
  } catch {
    return false;
  }
}

function ready(g: LeakGuard): SecretScanner {
  if (g.refresh ?? true) g.scanner.refreshIfChanged(g.refreshEveryMs ?? 1000);
  return g.scanner;
}

/** The outcome of {@linkcode guardEgressText}. */
export interface GuardedText {
  /** The text to send (redacted when hits were found). */
  text: string;
  hits: SecretHit[];
}

/**
 * Redacts secrets in outgoing text (a chat reply, a webhook body, a log line) and audits
 * `leak.blocked` when there were any. Call it on the final text, after streaming buffers.
 */
export async function guardEgressText(
  g: LeakGuard,
  text: string,
  where: GuardWhere,
): Promise<GuardedText> {
  const r = ready(g).redactText(text);
  if (r.hits.length > 0) await auditLeak(g, where, r.hits, "redacted");
  return r;
}

/** Text sent in pieces (a streamed reply), guarded: see {@linkcode createStreamGuard}. */
export interface StreamGuard {
  /** Adds a delta; returns the text that is safe to send now (often empty). */
  push(delta: string): string;
  /** Ends the stream: returns the rest, redacted, and audits everything found once. */
  end(): Promise<string>;
  /** Hits so far. */
  readonly hits: readonly SecretHit[];
}

/**
 * Guards a streamed reply. The last `holdback` characters (default 64) are held back until
 * more text arrives, and a secret straddling the boundary is held until it is complete. Why
 * that suffices: a value of up to `holdback` characters written in one piece is complete
 * before any of it is sent, and of a longer or scattered one at most 11 letters/digits can go
 * out unrecognised, because any 12 of them are found as a piece.
 */
export function createStreamGuard(
  g: LeakGuard,
  where: GuardWhere,
  holdback = 64,
): StreamGuard {
  const scanner = ready(g);
  const hits: SecretHit[] = [];
  let pending = "";
  return {
    hits,
    push(delta: string): string {
      pending += delta;
      if (pending.length <= holdback) return "";
      const found = scanner.scan(pending);
      let cut = pending.length - holdback;
      for (let moved = true; moved;) {
        moved = false;
        for (const h of found) {
          if (h.start < cut && h.end > cut) {
            cut = h.end;
            moved = true;
          }
        }
      }
      const done = found.filter((h) => h.end <= cut);
      hits.push(...done);
      const out = applyRedactions(pending.slice(0, cut), done);
      pending = pending.slice(cut);
      return out;
    },
    async end(): Promise<string> {
      const r = scanner.redactText(pending);
      pending = "";
      hits.push(...r.hits);
      if (hits.length > 0) await auditLeak(g, where, hits, "redacted");
      return r.text;
    },
  };
}

/** Redacts every string inside `value` (deep copy); object keys are kept as they are. */
function redactDeep(
  scanner: SecretScanner,
  value: unknown,
  hits: SecretHit[],
  depth = 0,
): unknown {
  if (typeof value === "string") {
    const r = scanner.redactText(value);
    hits.push(...r.hits);
    return r.text;
  }
  if (isSecret(value)) return REDACTED;
  if (value === null || typeof value !== "object" || depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(scanner, v, hits, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(scanner, v, hits, depth + 1);
  return out;
}

/**
 * Every string inside `value` (keys excluded), in order, one per line: pieces of a secret put
 * into consecutive fields line up here, while in the JSON text the key names sit between them.
 */
function leafText(value: unknown, out: string[] = [], depth = 0): string[] {
  if (typeof value === "string") out.push(value);
  else if (value !== null && typeof value === "object" && depth <= 64) {
    for (const v of Array.isArray(value) ? value : Object.values(value)) {
      leafText(v, out, depth + 1);
    }
  }
  return out;
}

/**
 * Redacts secrets inside a JSON-shaped value (a provider request, a SIEM event) string by
 * string, so the structure stays valid. A secret spread over several strings (pieces in an
 * array) cannot be cut out of one string, so the value is refused with
 * {@linkcode LeakBlockedError} instead. Audited either way.
 */
export async function guardEgressJson<T>(
  g: LeakGuard,
  value: T,
  where: GuardWhere,
): Promise<{ value: T; hits: SecretHit[] }> {
  const scanner = ready(g);
  const hits: SecretHit[] = [];
  const cleaned = redactDeep(scanner, value, hits) as T;
  const rest = [
    ...scanner.scan(JSON.stringify(cleaned) ?? ""),
    ...scanner.scan(leafText(cleaned).join("\n")),
  ];
  if (rest.length > 0) {
    await auditLeak(g, where, [...hits, ...rest], "refused");
    throw new LeakBlockedError(where.destination ?? where.kind, [...hits, ...rest]);
  }
  if (hits.length > 0) await auditLeak(g, where, hits, "redacted");
  return { value: cleaned, hits };
}

/** The decision on one tool call's arguments. */
export type ToolArgsVerdict =
  | { allowed: true }
  | {
    allowed: false;
    hits: SecretHit[];
    /** What to tell the model (names the credentials, never their values). */
    message: string;
  };

/**
 * Checks a tool call's arguments (web_fetch URL and body, exec command, MCP arguments) for
 * secrets; a call carrying one is refused and audited. The whole serialised argument object is
 * scanned, so a key split across several fields is caught too.
 */
export async function guardToolArgs(
  g: LeakGuard,
  tool: string,
  args: unknown,
  where: Omit<GuardWhere, "kind">,
): Promise<ToolArgsVerdict> {
  const scanner = ready(g);
  const hits = typeof args === "string"
    ? scanner.scan(args)
    : [...scanner.scan(JSON.stringify(args) ?? ""), ...scanner.scan(leafText(args).join("\n"))];
  if (hits.length === 0) return { allowed: true };
  const at: GuardWhere = { ...where, kind: "tool", destination: where.destination ?? tool };
  await auditLeak(g, at, hits, "refused", { tool });
  return {
    allowed: false,
    hits,
    message: `Refused: the arguments of ${tool} contain a secret (${
      hitNames(hits)
    }). Credentials never leave the gateway through tool calls; the attempt was recorded.`,
  };
}

/** Options of {@linkcode guardTool}. */
export interface GuardToolOptions extends LeakGuard {
  /** Records the tool's result as untrusted content of the session. */
  tracker?: UntrustedTracker;
  /**
   * Tools whose results the gateway writes itself and which bring in no outside content, so
   * they do not taint the turn (default `write_file`, `edit_file`: "wrote 12 bytes").
   */
  trustedResults?: readonly string[];
}

const TRUSTED_RESULTS: readonly string[] = ["write_file", "edit_file"];

/** The most telling label of a call: its URL, path or command, else the tool's name. */
function labelOf(tool: string, input: unknown): string {
  if (input && typeof input === "object") {
    const o = input as Record<string, unknown>;
    for (const k of ["url", "uri", "path", "file", "command", "query"]) {
      const v = o[k];
      if (typeof v === "string" && v) return `${tool}: ${v.slice(0, 150)}`;
    }
  }
  return tool;
}

/**
 * Wraps a tool: arguments carrying a secret are refused before it runs; its result has secrets
 * redacted before the model sees it (a file holding a key is read, the key does not enter the
 * conversation) and is recorded as untrusted content, checked for injection.
 */
export function guardTool<I>(tool: Tool<I>, options: GuardToolOptions): Tool<I> {
  return {
    name: tool.name,
    description: tool.description,
    tier: tool.tier,
    inputSchema: tool.inputSchema,
    async run(input, ctx): Promise<ToolResult> {
      const where = { agent: ctx.agentId, session: ctx.sessionId, channel: ctx.channel };
      const verdict = await guardToolArgs(options, tool.name, input, {
        ...where,
        actor: ctx.sender,
      });
      if (!verdict.allowed) return { content: verdict.message, isError: true };
      const result = await tool.run(input, ctx);
      const r = ready(options).redactText(result.content);
      if (r.hits.length > 0) {
        const at: GuardWhere = { ...where, kind: "tool-result", destination: tool.name };
        await auditLeak(options, at, r.hits, "redacted", { tool: tool.name });
      }
      if (!(options.trustedResults ?? TRUSTED_RESULTS).includes(tool.name)) {
        await options.tracker?.record(
          where,
          { kind: sourceKindOfTool(tool.name), label: labelOf(tool.name, input) },
          r.text,
        );
      }
      return { ...result, content: r.text };
    },
  };
}

/** Redacts one message's text fields; tool-call arguments stay valid JSON. */
function cleanMessage(scanner: SecretScanner, m: ChatMessage, hits: SecretHit[]): ChatMessage {
  const text = (s: string) => {
    const r = scanner.redactText(s);
    hits.push(...r.hits);
    return r.text;
  };
  if (m.role === "user") return { role: "user", content: text(m.content) };
  if (m.role === "tool") {
    return { role: "tool", results: m.results.map((r) => ({ ...r, content: text(r.content) })) };
  }
  const calls = m.toolCalls?.map((c) => {
    const args = text(c.arguments);
    let valid = true;
    try {
      JSON.parse(args);
    } catch {
      valid = false;
    }
    return { ...c, arguments: valid ? args : JSON.stringify({ redacted: true }) };
  });
  return { role: "assistant", content: text(m.content), ...(calls ? { toolCalls: calls } : {}) };
}

/**
 * Wraps a provider so every request body is scanned before it leaves: the system prompt, every
 * message, tool results and tool-call arguments of the history. Secrets are redacted (and
 * audited); the model's answers pass through unchanged (the reply guard handles those).
 */
export function guardProvider(
  provider: Provider,
  options: LeakGuard & { where?: Omit<GuardWhere, "kind"> },
): Provider {
  return {
    kind: provider.kind,
    baseUrl: provider.baseUrl,
    models: (signal) => provider.models(signal),
    health: (signal) => provider.health(signal),
    chat(request: ChatRequest, signal?: AbortSignal) {
      const inner = async function* () {
        const scanner = ready(options);
        const hits: SecretHit[] = [];
        let system = request.system;
        if (system !== undefined) {
          const r = scanner.redactText(system);
          hits.push(...r.hits);
          system = r.text;
        }
        const cleaned: ChatRequest = {
          ...request,
          ...(system !== undefined ? { system } : {}),
          messages: request.messages.map((m) => cleanMessage(scanner, m, hits)),
        };
        if (hits.length > 0) {
          const at: GuardWhere = {
            ...options.where,
            kind: "provider",
            destination: options.where?.destination ?? provider.kind,
          };
          await auditLeak(options, at, hits, "redacted");
        }
        yield* provider.chat(cleaned, signal);
      };
      return inner();
    },
  };
}

/**
 * An `onRefused` callback for `guardedFetch`, `web_fetch`'s egress option and
 * `startEgressProxy`: records each refused connection as `tool.denied` with the host and the
 * reason. The append is not awaited (the connection is refused either way).
 */
export function egressRefusalAuditor(
  audit: AuditSink,
  where: Omit<GuardWhere, "kind">,
): (error: EgressRefusedError) => void {
  return (error) => {
    void audit.append({
      kind: "tool.denied",
      agent: where.agent,
      session: where.session,
      channel: where.channel,
      actor: where.actor ?? "gateway",
      payload: {
        guard: "egress",
        ...(where.destination ? { tool: where.destination } : {}),
        host: error.host,
        reason: error.reason,
        ...(error.address ? { address: error.address } : {}),
        message: error.message,
      },
    }).catch(() => {});
  };
}
