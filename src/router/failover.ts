/**
 * Model failover: an agent lists fallback models (on its own provider, or on others); when the
 * model it is using fails with a rate limit, an outage, a timeout or a network error (after the
 * HTTP layer's own retry policy gave up), the turn moves to the next one. Authentication
 * errors, bad requests and refusals never fail over: another model would not fix them, and
 * hiding them would hide a misconfiguration.
 *
 * A circuit breaker keeps a provider that keeps failing out of the way for a while, so every
 * turn does not first wait on it. A confidential provider (Tinfoil, Privatemode: answers come
 * from attested enclaves) never falls over to a non-confidential one unless the agent says so
 * with `allowNonConfidentialFallback`: the user chose confidentiality for these conversations.
 *
 * @module
 */
import type { ProviderError } from "../providers/errors.ts";
import { isProviderError } from "../providers/errors.ts";
import type { ChatEvent, ChatRequest, Provider, ProviderErrorKind } from "../providers/types.ts";
import type { AgentConfig, EffectiveModel } from "./bindings.ts";

/** Provider kinds whose answers come from attested confidential hardware. */
export const CONFIDENTIAL_KINDS: ReadonlySet<string> = new Set(["tinfoil", "privatemode"]);

/** Errors after which the next model is tried. */
const FAILOVER_KINDS: ReadonlySet<ProviderErrorKind> = new Set([
  "rate_limit",
  "quota",
  "unavailable",
  "timeout",
  "network",
]);

/** True when `e` is an error another model may not have (rate limit, outage, timeout). */
export function failsOver(e: unknown): e is ProviderError {
  return isProviderError(e) && FAILOVER_KINDS.has(e.kind);
}

/** A stable key of an endpoint (the breaker's unit). */
export function endpointKey(m: EffectiveModel): string {
  return JSON.stringify([m.kind, m.baseUrl ?? "", m.credential ?? ""]);
}

/** A model's label in audit events and results: `kind:model`. */
export function modelLabel(m: EffectiveModel): string {
  return `${m.kind}:${m.model}`;
}

/**
 * The models an agent tries, in order: its effective model, then its fallbacks (a string is
 * another model on the same provider). Non-confidential fallbacks of a confidential primary
 * are dropped unless the agent allows them.
 */
export function failoverChain(primary: EffectiveModel, agent: AgentConfig): EffectiveModel[] {
  const chain = [primary];
  for (const f of agent.fallbacks ?? []) {
    const m: EffectiveModel = typeof f === "string" ? { ...primary, model: f } : {
      kind: f.kind,
      model: f.model,
      baseUrl: f.baseUrl,
      credential: f.credential,
    };
    if (
      CONFIDENTIAL_KINDS.has(primary.kind) && !CONFIDENTIAL_KINDS.has(m.kind) &&
      agent.allowNonConfidentialFallback !== true
    ) continue;
    chain.push(m);
  }
  return chain;
}

/** Keeps an endpoint that failed `failures` times in a row out for `openMs`. */
export class CircuitBreaker {
  readonly #failures: number;
  readonly #openMs: number;
  readonly #now: () => number;
  readonly #state = new Map<string, { count: number; openUntil: number }>();

  /** `now` is injectable so tests need not wait. */
  constructor(failures = 3, openMs = 60_000, now: () => number = Date.now) {
    this.#failures = failures;
    this.#openMs = openMs;
    this.#now = now;
  }

  /** True while `key` is kept out. */
  isOpen(key: string): boolean {
    return (this.#state.get(key)?.openUntil ?? 0) > this.#now();
  }

  /** Records a success: the count starts over. */
  success(key: string): void {
    this.#state.delete(key);
  }

  /** Records a failure; opens the breaker at the threshold. */
  failure(key: string): void {
    const s = this.#state.get(key) ?? { count: 0, openUntil: 0 };
    s.count++;
    if (s.count >= this.#failures) {
      s.openUntil = this.#now() + this.#openMs;
      s.count = 0;
    }
    this.#state.set(key, s);
  }
}

/** What the failover provider reports. */
export interface FailoverHooks {
  /** The turn moved from one model to the next (or skipped one whose breaker is open). */
  onFailover(from: EffectiveModel, to: EffectiveModel, reason: string): void;
  /** One provider call reported its token usage. */
  onUsage?(model: EffectiveModel, inputTokens: number, outputTokens: number): void;
}

/**
 * A provider that walks `chain`. It fails over only before the first event of an answer was
 * passed on: once text has streamed to the user, a second model would answer twice. `answered`
 * holds the model of the latest successful answer.
 */
export function failoverProvider(
  chain: readonly { model: EffectiveModel; provider: () => Provider }[],
  breaker: CircuitBreaker,
  hooks: FailoverHooks,
): Provider & { answered: EffectiveModel | null } {
  const first = chain[0].provider();
  const reported = new Set<(typeof chain)[number]>();
  const self = {
    kind: first.kind,
    baseUrl: first.baseUrl,
    answered: null as EffectiveModel | null,
    models: (signal?: AbortSignal) => first.models(signal),
    health: (signal?: AbortSignal) => first.health(signal),
    async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
      // Endpoints whose breaker is open are skipped, unless every one is open.
      const open = chain.filter((c) => !breaker.isOpen(endpointKey(c.model)));
      const candidates = open.length ? open : chain;
      for (const skipped of chain.filter((c) => !candidates.includes(c))) {
        // Once per turn, not once per tool round.
        if (reported.has(skipped)) continue;
        reported.add(skipped);
        hooks.onFailover(skipped.model, candidates[0].model, "circuit open");
      }
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[i];
        const key = endpointKey(c.model);
        let started = false;
        try {
          const provider = i === 0 && c === chain[0] ? first : c.provider();
          for await (const ev of provider.chat({ ...request, model: c.model.model }, signal)) {
            started = true;
            if (ev.type === "usage") hooks.onUsage?.(c.model, ev.inputTokens, ev.outputTokens);
            yield ev;
          }
          breaker.success(key);
          self.answered = c.model;
          return;
        } catch (e) {
          if (!failsOver(e)) throw e;
          breaker.failure(key);
          const next = candidates[i + 1];
          if (started || !next || signal?.aborted) throw e;
          hooks.onFailover(c.model, next.model, e.kind);
        }
      }
    },
  };
  return self;
}
