/**
 * The one entry point for a message, whatever its source (chat adapters, WebChat, `wirken
 * ask`, scheduled tasks): sender allow-list, rate limits, agent binding, session, then the
 * agent turn. There is no side door: loopback sources pass through the same limits.
 *
 * The allow-list is checked before the rate limits so that strangers cannot spend the tokens
 * of the channel or global buckets and starve the people who are allowed in.
 *
 * A message names its conversation only by a {@linkcode SessionHandle}: the channel and the
 * conversation id are read from the handle (for adapters, minted from the authenticated
 * connection), the session is keyed on it, and the result carries the same handle back, typed
 * by its channel, so the reply can only go out on the channel the message came from.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import type { Config } from "../config/schema.ts";
import { LOCAL_SOURCES, type SessionHandle, type Source } from "../ipc/session.ts";
import { type AgentProfile, type PermissionCheck, runTurn, type TurnEvent } from "../agent/loop.ts";
import { isProviderError, ProviderError } from "../providers/errors.ts";
import type { ChatMessage, Provider } from "../providers/types.ts";
import type { RateLimiter } from "../ratelimit/limiter.ts";
import { sessionId, type SessionStore } from "../sessions/store.ts";
import type { Tool } from "../tools/types.ts";
import type { UsageStore } from "../usage/store.ts";
import { type BudgetVerdict, checkBudgets, msUntilReset } from "../usage/budget.ts";
import { costOf, maxPrice, priceOf } from "../usage/prices.ts";
import { releasing, reserveCall } from "../usage/reserve.ts";
import {
  type Address,
  type AgentConfig,
  bindAgent,
  type EffectiveModel,
  effectiveModel,
  findAgent,
} from "./bindings.ts";
import { conversationSettings, narrowTools } from "./conversations.ts";
import { CircuitBreaker, failoverChain, failoverProvider, modelLabel } from "./failover.ts";

/** Context window requested from Ollama (its own default is smaller and truncates silently). */
export const OLLAMA_CONTEXT_TOKENS = 8192;

/** Sources that have no allow-list: they are authenticated before they reach the router. */
export const LOCAL_CHANNELS: ReadonlySet<string> = new Set(LOCAL_SOURCES);

/** A message entering wirken, in the conversation `handle` names. */
export interface Inbound<C extends Source = Source> {
  /** The conversation; its channel and id are the message's channel and conversation. */
  handle: SessionHandle<C>;
  /** The platform id of who wrote it (`local` for WebChat and the terminal). */
  sender: string;
  text: string;
}

/** The routing address of `msg` (channel and conversation from its handle). */
export function addressOf(msg: Inbound): Address {
  return {
    channel: msg.handle.channel,
    conversation: msg.handle.conversationId,
    sender: msg.sender,
  };
}

/** What the router needs; the gateway (or `wirken ask`) builds it once. */
export interface DispatchDeps {
  config: Config;
  sessions: SessionStore;
  limiter: RateLimiter;
  audit: AuditSink;
  permit: PermissionCheck;
  /**
   * Every tool available; each agent's `tools` list narrows it. A function is asked at every
   * turn (MCP servers come and go while the gateway runs).
   */
  tools: readonly Tool[] | (() => readonly Tool[]);
  /** A provider for the agent's effective model (the caller may cache by settings). */
  provider(model: EffectiveModel, agent: AgentConfig): Provider;
  /** `<data dir>/workspace`: an agent without `workspace` uses `<root>/<agent id>`. */
  workspaceRoot: string;
  /**
   * Called when a turn begins in its session (after allow-list, limits and binding): the
   * untrusted-content tracker starts the turn here and records a stranger's message.
   */
  onTurnStart?: (
    turn: { session: string; agent: string; channel: string; sender: string; text: string },
  ) => Promise<void>;
  /**
   * Applied to every message before it is stored in the session (the secret scanner: a key
   * the model or a tool repeated must not sit in clear in sessions.db).
   */
  beforeStore?: (message: ChatMessage) => ChatMessage;
  /** Extra system-prompt sections (skills summary). */
  systemExtra?: readonly string[];
  /** Keeps failing endpoints out of failover chains for a while (shared by every turn). */
  breaker?: CircuitBreaker;
  /** Where every provider call's tokens and cost go, and budgets are checked; absent: neither. */
  usage?: UsageStore;
  /** The clock of budgets and usage records (tests). */
  now?: () => number;
}

/** Per-message options. */
export interface DispatchOptions {
  /** Answer with this agent instead of the routed one (`wirken ask --agent`). */
  agent?: string;
  /** Use this model for this message only (`--model`). */
  model?: string;
  signal?: AbortSignal;
  onEvent?: (event: TurnEvent) => void;
}

/** The outcome, with the text to send back where there is one. */
export type DispatchResult =
  /** The sender is not on the channel's allow-list; nothing is sent back. */
  | { status: "refused" }
  /** Rate-limited, or a budget is used up (`reason`): `message` is the polite reply to send. */
  | { status: "limited"; message: string; retryAfterMs: number; reason?: "budget" }
  | {
    status: "answered";
    agent: string;
    session: string;
    text: string;
    rounds: number;
    stoppedBy: "answer" | "round_limit";
    usage: { inputTokens: number; outputTokens: number };
    /** `kind:model` of the model that gave the (last) answer, after any failover. */
    model?: string;
  }
  /** The provider failed; `message` and `fix` are short and safe to show. */
  | { status: "failed"; agent: string; session: string; message: string; fix?: string };

/**
 * A result with the handle of the conversation it answers: a reply is sent on `handle`, whose
 * type keeps it on the channel the message came from.
 */
export type Routed<C extends Source = Source> = DispatchResult & {
  readonly handle: SessionHandle<C>;
};

/** True when `sender` may talk to wirken on `channel`. */
export function senderAllowed(config: Config, addr: Address): boolean {
  if (LOCAL_CHANNELS.has(addr.channel)) return true;
  const ch = (config.channels as Record<string, { enabled: boolean; allowFrom: string[] }>)[
    addr.channel
  ];
  return !!ch && ch.enabled && ch.allowFrom.includes(addr.sender);
}

// Turns of one session run one after another: two messages arriving together must not
// interleave their tool calls and results in the stored history (providers reject a call that is
// not directly followed by its result). Keyed per session store, so tests stay independent.
const chains = new WeakMap<SessionStore, Map<string, Promise<unknown>>>();

async function serialized<T>(store: SessionStore, id: string, fn: () => Promise<T>): Promise<T> {
  let byId = chains.get(store);
  if (!byId) chains.set(store, byId = new Map());
  const before = byId.get(id) ?? Promise.resolve();
  const run = before.catch(() => {}).then(fn);
  const tail = run.catch(() => {});
  byId.set(id, tail);
  try {
    return await run;
  } finally {
    if (byId.get(id) === tail) byId.delete(id);
  }
}

/** Handles one inbound message end to end; the result carries the message's handle. */
export async function dispatch<C extends Source>(
  deps: DispatchDeps,
  msg: Inbound<C>,
  opts: DispatchOptions = {},
): Promise<Routed<C>> {
  return { ...await route(deps, msg, opts), handle: msg.handle };
}

async function route(
  deps: DispatchDeps,
  inbound: Inbound,
  opts: DispatchOptions,
): Promise<DispatchResult> {
  const { config } = deps;
  const msg = { ...addressOf(inbound), text: inbound.text };
  if (!senderAllowed(config, msg)) return { status: "refused" };
  // A conversation's own sender list narrows the channel's allow-list.
  const group = conversationSettings(config, msg);
  if (group?.allowFrom && !group.allowFrom.includes(msg.sender)) return { status: "refused" };
  const verdict = deps.limiter.check(msg);
  if (!verdict.allowed) {
    return { status: "limited", message: verdict.message, retryAfterMs: verdict.retryAfterMs };
  }

  let agent = (group?.agent ? findAgent(config, group.agent) : undefined) ?? bindAgent(config, msg);
  if (opts.agent) {
    const chosen = findAgent(config, opts.agent);
    if (!chosen) {
      return {
        status: "failed",
        agent: opts.agent,
        session: "",
        message: `There is no agent "${opts.agent}".`,
        fix: "List agents with `wirken agents list`.",
      };
    }
    agent = chosen;
  }
  const model = effectiveModel(config, agent);
  if (group?.model) model.model = group.model;
  if (opts.model) model.model = opts.model;
  return await serialized(deps.sessions, sessionId(inbound.handle, agent.id), async () => {
    const session = deps.sessions.getOrCreate(inbound.handle, agent.id);
    const allowed = narrowTools(agent.tools, group?.tools);
    const every = typeof deps.tools === "function" ? deps.tools() : deps.tools;
    const tools = allowed ? every.filter((t) => allowed.has(t.name)) : every;
    const profile: AgentProfile = {
      id: agent.id,
      name: agent.name,
      systemPrompt: [agent.systemPrompt, group?.systemPrompt].filter(Boolean).join("\n\n") ||
        undefined,
      model: model.model,
      // Local models get a window they can hold in memory; hosted ones the loop's default.
      ...(model.kind === "ollama" ? { contextTokens: OLLAMA_CONTEXT_TOKENS, maxTokens: 2048 } : {}),
      workspace: agent.workspace ?? `${deps.workspaceRoot}/${agent.id}`,
    };
    await deps.onTurnStart?.({
      session: session.id,
      agent: agent.id,
      channel: msg.channel,
      sender: msg.sender,
      text: msg.text,
    });
    const base = { session: session.id, agent: agent.id, channel: msg.channel, actor: msg.sender };
    const now = deps.now ?? Date.now;
    const who = { agent: agent.id, channel: msg.channel, sender: msg.sender };
    const budget: BudgetVerdict = deps.usage ? checkBudgets(config, deps.usage, who, now()) : {};
    if (budget.refuse) {
      const { message, ...details } = budget.refuse;
      await deps.audit.append({ ...base, kind: "budget.refused", payload: details })
        .catch(() => {});
      return {
        status: "limited",
        reason: "budget",
        message,
        retryAfterMs: msUntilReset(details.limit, now()),
      };
    }
    // Message events record size, not content: the audit trail must not become a transcript.
    await deps.audit.append({ ...base, kind: "message.in", payload: { chars: msg.text.length } })
      .catch(() => {});
    // Failover and usage: each provider call's tokens are recorded at once (a later failure
    // must not hide what was spent); their audit events follow the turn, in order.
    const pending: Parameters<AuditSink["append"]>[0][] = [];
    const chain = failoverChain(model, agent).map((m) => ({
      model: m,
      // Built on first use: a fallback with no key configured must not break the primary.
      provider: () => deps.provider(m, agent),
    }));
    const failover = () =>
      failoverProvider(
        chain,
        deps.breaker ?? new CircuitBreaker(),
        {
          onFailover: (from, to, reason) =>
            pending.push({
              ...base,
              kind: "model.failover",
              payload: { from: modelLabel(from), to: modelLabel(to), reason },
            }),
          onUsage: (m, inputTokens, outputTokens) => {
            const price = priceOf(config.prices ?? {}, m.kind, m.model);
            const costUsd = costOf(price, inputTokens, outputTokens);
            deps.usage?.record({
              at: now(),
              ...who,
              model: modelLabel(m),
              inputTokens,
              outputTokens,
              costUsd,
              priced: price !== null,
            });
            pending.push({
              ...base,
              kind: "model.usage",
              payload: { model: modelLabel(m), inputTokens, outputTokens, costUsd },
            });
          },
        },
      );
    // Records of what already happened (usage, the answer): appended together they share one
    // durable commit instead of one fsync each; nothing waits on them to be allowed to run.
    const flush = async (...last: typeof pending) => {
      const events = [...pending.splice(0), ...last];
      await Promise.all(events.map((e) => deps.audit.append(e).catch(() => {})));
    };
    // The turn was checked above; each provider call (every tool round) reserves its cost
    // before it is made, so no turn, alone or with others at once, runs past a budget.
    let calls = 0;
    // The dearest model of the chain: failover may move a call to any of them.
    const chainPrice = maxPrice(
      chain.map((c) => priceOf(config.prices ?? {}, c.model.kind, c.model.model)),
    );
    let stoppedByBudget: BudgetVerdict["refuse"];
    try {
      const provider = failover();
      const budgeted: Provider = {
        kind: provider.kind,
        baseUrl: provider.baseUrl,
        models: provider.models,
        health: provider.health,
        chat(request, signal) {
          calls++;
          if (!deps.usage) return provider.chat(request, signal);
          // Every call holds its most possible cost first (src/usage/reserve.ts), so turns
          // running at once cannot together pass a budget.
          const held = reserveCall(config, deps.usage, who, now(), request, chainPrice);
          if (!held.ok) {
            stoppedByBudget = held.refuse;
            throw new ProviderError("quota", held.refuse.message);
          }
          const { reservation } = held;
          return releasing(
            provider.chat({ ...request, maxTokens: reservation.maxTokens }, signal),
            reservation,
          );
        },
      };
      const r = await runTurn({
        provider: budgeted,
        agent: profile,
        tools,
        history: deps.sessions.history(session.id),
        message: msg.text,
        audit: deps.audit,
        permit: deps.permit,
        session: { id: session.id, channel: msg.channel, sender: msg.sender },
        maxToolRounds: config.limits.toolRoundsPerTurn,
        maxToolCallsPerRound: config.limits.toolCallsPerRound,
        maxToolCallsPerTurn: config.limits.toolCallsPerTurn,
        systemExtra: deps.systemExtra,
        signal: opts.signal,
        onEvent: opts.onEvent,
        onMessage: (m) =>
          deps.sessions.append(session.id, deps.beforeStore ? deps.beforeStore(m) : m),
      });
      const answeredBy = modelLabel(provider.answered ?? model);
      await flush({
        ...base,
        kind: "message.out",
        payload: { chars: r.text.length, model: answeredBy },
      });
      return {
        status: "answered",
        agent: agent.id,
        session: session.id,
        text: budget.warn ? `${r.text}\n\n${budget.warn}` : r.text,
        rounds: r.rounds,
        stoppedBy: r.stoppedBy,
        usage: r.usage,
        model: answeredBy,
      };
    } catch (e) {
      await flush();
      if (stoppedByBudget) {
        const { message, ...details } = stoppedByBudget;
        await deps.audit.append({
          ...base,
          kind: "budget.refused",
          payload: { ...details, midTurn: calls > 1 },
        }).catch(() => {});
        return {
          status: "limited",
          reason: "budget",
          message,
          retryAfterMs: msUntilReset(details.limit, now()),
        };
      }
      if (!isProviderError(e)) throw e;
      // The failure is the reply: recorded as one, so start-up recovery (src/agent/recover.ts)
      // does not take the turn for one a crash cut off.
      await deps.audit.append({
        ...base,
        kind: "message.out",
        payload: { chars: e.message.length, failed: true },
      }).catch(() => {});
      return {
        status: "failed",
        agent: agent.id,
        session: session.id,
        message: e.message,
        fix: e.fix,
      };
    }
  });
}
