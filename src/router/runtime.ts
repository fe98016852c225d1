/**
 * The agent runtime as the gateway (and `wirken ask`) build it: one object owning the session
 * store, the rate limiter, the provider cache and the router, so that every entry point calls
 * the same `handle` (or `stream`). The limiter's buckets live in the sessions database, so the
 * gateway and `wirken ask` processes draw from the same buckets.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import type { PermissionCheck, TurnEvent } from "../agent/loop.ts";
import type { Config } from "../config/schema.ts";
import type { HttpOptions } from "../providers/http.ts";
import type { DispatchDeps } from "./dispatch.ts";
import {
  createProvider,
  type ProviderSettings,
  resolveProviderSettings,
} from "../providers/registry.ts";
import type { ChatMessage, Provider } from "../providers/types.ts";
import { RateLimiter } from "../ratelimit/limiter.ts";
import { SqliteBucketState } from "../ratelimit/sqlite_state.ts";
import { SESSION_MIGRATIONS, type SessionInfo, SessionStore } from "../sessions/store.ts";
import { openDatabase } from "../store/sqlite.ts";
import type { Tool } from "../tools/types.ts";
import type { CredentialStore } from "../vault/types.ts";
import { type EffectiveModel, effectiveModel } from "./bindings.ts";
import { CircuitBreaker } from "./failover.ts";
import { UsageStore } from "../usage/store.ts";
import type { Source } from "../ipc/session.ts";
import { dispatch, type DispatchOptions, type Inbound, type Routed } from "./dispatch.ts";

/** What the runtime is built from; concrete services come from the composition root. */
export interface RuntimeOptions {
  config: Config;
  /** `dataPaths(root).sessionsDb`. */
  sessionsDb: string;
  /** `dataPaths(root).workspace`. */
  workspaceRoot: string;
  audit: AuditSink;
  permit: PermissionCheck;
  tools?: readonly Tool[] | (() => readonly Tool[]);
  /** The vault (only `get` is used); absent: keys come from the environment. */
  credentials?: Pick<CredentialStore, "get">;
  env: { get(name: string): string | undefined };
  /** Texts of `~/.aws/credentials` and `~/.aws/config`, for Bedrock. */
  awsCredentialsFile?: string;
  awsConfigFile?: string;
  /** Extra system-prompt sections (skills summary). */
  systemExtra?: readonly string[];
  /** HTTP tunables for every provider (tests shorten them). */
  http?: HttpOptions;
  /** Replaces provider construction (tests, benchmarks). */
  providerFactory?: (settings: ProviderSettings, model: EffectiveModel) => Provider;
  /** See `DispatchDeps.onTurnStart`. */
  onTurnStart?: DispatchDeps["onTurnStart"];
  /** See `DispatchDeps.beforeStore`. */
  beforeStore?: DispatchDeps["beforeStore"];
  /** `<data dir>/usage.db`: token usage, cost and budgets; absent: none are recorded. */
  usageDb?: string;
  /** The clock of usage records and budgets (tests); default `Date.now`. */
  now?: () => number;
}

/** An agent as listed to users. */
export interface AgentSummary {
  id: string;
  name: string;
  provider: string;
  model: string;
}

/** Events of {@linkcode AgentRuntime.stream}: the turn's progress, then its result. */
export type RuntimeEvent = TurnEvent | { type: "result"; result: Routed };

/** The runtime. */
export interface AgentRuntime {
  /**
   * Handles one message end to end (allow-list, limits, binding, session, turn); the result
   * carries the message's own handle, to reply on.
   */
  handle<C extends Source>(msg: Inbound<C>, opts?: DispatchOptions): Promise<Routed<C>>;
  /** The same as `handle`, as a stream of events ending with `result` (for WebChat). */
  stream(msg: Inbound, opts?: Omit<DispatchOptions, "onEvent">): AsyncGenerator<RuntimeEvent>;
  agents(): AgentSummary[];
  sessions(agent?: string): SessionInfo[];
  transcript(sessionId: string): ChatMessage[];
  /** Deletes a session; true when it existed. */
  clearSession(sessionId: string): boolean;
  close(): void;
}

/** Builds the runtime; opens `sessionsDb` (twice: the store and the limiter's buckets). */
export function createAgentRuntime(o: RuntimeOptions): AgentRuntime {
  const sessions = new SessionStore(openDatabase(o.sessionsDb, { migrations: SESSION_MIGRATIONS }));
  const bucketDb = openDatabase(o.sessionsDb, { migrations: SESSION_MIGRATIONS });
  const limiter = new RateLimiter({
    sender: { perMinute: o.config.limits.messagesPerMinute },
    channel: { perMinute: o.config.limits.channelMessagesPerMinute },
    global: { perMinute: o.config.limits.globalMessagesPerMinute },
  }, new SqliteBucketState(bucketDb));
  const usage = o.usageDb ? UsageStore.open(o.usageDb) : undefined;
  const providers = new Map<string, Provider>();
  const provider = (m: EffectiveModel): Provider => {
    // Keyed without the model: one provider object serves every model of an endpoint.
    const key = JSON.stringify([m.kind, m.baseUrl ?? "", m.credential ?? ""]);
    let p = providers.get(key);
    if (!p) {
      const settings = resolveProviderSettings(
        { kind: m.kind, baseUrl: m.baseUrl, credential: m.credential },
        {
          credentials: o.credentials,
          env: o.env,
          awsCredentialsFile: o.awsCredentialsFile,
          awsConfigFile: o.awsConfigFile,
        },
      );
      settings.http = o.http;
      p = o.providerFactory ? o.providerFactory(settings, m) : createProvider(settings);
      providers.set(key, p);
    }
    return p;
  };
  const deps = {
    config: o.config,
    sessions,
    limiter,
    audit: o.audit,
    permit: o.permit,
    tools: o.tools ?? [],
    provider,
    workspaceRoot: o.workspaceRoot,
    systemExtra: o.systemExtra,
    onTurnStart: o.onTurnStart,
    beforeStore: o.beforeStore,
    breaker: new CircuitBreaker(
      o.config.failover?.breakerFailures,
      (o.config.failover?.breakerSeconds ?? 60) * 1000,
    ),
    usage,
    now: o.now,
  };

  return {
    handle: (msg, opts) => dispatch(deps, msg, opts),
    async *stream(msg, opts) {
      // Bridges the callback of the turn loop to an async iterator.
      const queue: RuntimeEvent[] = [];
      let wake: (() => void) | undefined;
      let finished = false;
      let failure: unknown;
      const push = (e: RuntimeEvent) => {
        queue.push(e);
        wake?.();
      };
      dispatch(deps, msg, { ...opts, onEvent: push }).then(
        (result) => push({ type: "result", result }),
        (e) => (failure = e),
      ).finally(() => {
        finished = true;
        wake?.();
      });
      while (true) {
        if (queue.length) {
          yield queue.shift()!;
          continue;
        }
        if (finished) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (failure !== undefined) throw failure;
    },
    agents: () =>
      o.config.agents.map((a) => {
        const m = effectiveModel(o.config, a);
        return { id: a.id, name: a.name ?? a.id, provider: m.kind, model: m.model };
      }),
    sessions: (agent) => sessions.list(agent ? { agent } : {}),
    transcript: (id) => sessions.history(id),
    clearSession: (id) => sessions.clear(id),
    close: () => {
      sessions.close();
      bucketDb.close();
      usage?.close();
    },
  };
}
