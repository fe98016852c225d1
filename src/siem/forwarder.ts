/**
 * SIEM forwarding that loses nothing: each destination reads the audit log after its persisted
 * cursor, sends one batch at a time in seq order, and moves the cursor only on a 2xx answer.
 *
 * - 429 / 408 / 5xx / network errors: retried with exponential backoff and full jitter,
 *   honouring `Retry-After`, for as long as it takes (outages end; events wait in audit.db).
 * - 413: the batch is halved; a single event still too large holds the destination.
 * - any other 4xx or 3xx (bad key, bad request, redirect): retrying the same bytes cannot help,
 *   so the destination is **held** at that batch (never skipped), logged as an error, shown in
 *   `wirken status`, and re-tried only every `holdRetryMs` (fixing the key resumes it).
 *
 * @module
 */
import { type SiemDestination, SiemDestinationSchema } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import type { CredentialStore } from "../vault/types.ts";
import type { AuditLog } from "../audit/log.ts";
import type { AuditEvent } from "../audit/chain.ts";
import { retryAfterMs } from "../providers/http.ts";
import { buildRequest, credentialFor, destinationUrl } from "./formats.ts";
import { type Cursor, CursorStore } from "./cursors.ts";
import { SiemError } from "./errors.ts";

/** Timing knobs; production defaults, tests shrink them. */
export interface SiemTuning {
  /** First retry delay (default 1 s), doubled per attempt. */
  baseDelayMs: number;
  /** Longest retry delay (default 5 min). */
  maxDelayMs: number;
  /** Delay between attempts while held (default 5 min). */
  holdRetryMs: number;
  /** Re-check for new events this often even without a wake-up (default 5 s). */
  pollMs: number;
  /** After a wake-up, wait this long so one request carries several events (default 200 ms). */
  lingerMs: number;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs: number;
  /** How long `stop` waits for a request in flight before aborting it (default 5 s). */
  stopTimeoutMs: number;
}

const DEFAULT_TUNING: SiemTuning = {
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  holdRetryMs: 300_000,
  pollMs: 5_000,
  lingerMs: 200,
  requestTimeoutMs: 30_000,
  stopTimeoutMs: 5_000,
};

/** Options of {@linkcode startSiemForwarder}. */
export interface SiemForwarderOptions {
  /** The audit log to read (its database also holds the cursors). */
  log: AuditLog;
  /** `config.siem.destinations` (validated again here: it is outside input). */
  destinations: readonly unknown[];
  /** Where keys are read, at every attempt (so a rotated or fixed key is picked up). */
  credentials: CredentialStore;
  /** Where held/retrying/recovered destinations are reported. */
  logger?: Logger;
  /** HTTP client (tests may wrap it). */
  fetch?: typeof fetch;
  /** Time of cursor updates and status lag. */
  clock?: () => Date;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Host name sent to Datadog/Splunk (default `Deno.hostname()`). */
  hostname?: string;
  /** Timing overrides. */
  tuning?: Partial<SiemTuning>;
}

/** One destination's delivery status, for `wirken status`. */
export interface SiemDestinationStatus {
  /** Destination name from config. */
  name: string;
  /** Wire format. */
  kind: SiemDestination["kind"];
  /** False when disabled in config (not forwarded, not holding retention). */
  enabled: boolean;
  /** `ok`, `retrying` (outage), `held` (rejected: needs a fix), `new`, or `disabled`. */
  state: Cursor["state"] | "disabled";
  /** Highest seq acknowledged with a 2xx. */
  deliveredSeq: number;
  /** Newest seq in the log. */
  headSeq: number;
  /** Events not yet acknowledged. */
  lagEvents: number;
  /** Age in seconds of the oldest unacknowledged event (0 when caught up). */
  lagSeconds: number;
  /** Consecutive failed attempts. */
  attempts: number;
  /** Why the last attempt failed (never a response body). */
  lastError: string | null;
  /** ISO time of the last 2xx. */
  lastSuccessAt: string | null;
}

/** A running forwarder. */
export interface SiemForwarder {
  /** Wakes every destination (new events). The log's `onAppend` is wired to this already. */
  wake(): void;
  /** Finishes requests in flight (up to `stopTimeoutMs`), then stops. */
  stop(): Promise<void>;
  /** Delivery status of every configured destination. */
  status(): SiemDestinationStatus[];
  /** Seqs pruning must not pass (enabled destinations' cursors), for `AuditLog.prune`. */
  keepAfter(): Map<string, number>;
}

type Outcome =
  | { type: "delivered" }
  | { type: "retry"; reason: string; retryAfterMs?: number }
  | { type: "too_large" }
  | { type: "held"; reason: string; fix: string };

/** Validates destinations from config; throws a {@linkcode SiemError} naming the bad one. */
export function parseDestinations(raw: readonly unknown[]): SiemDestination[] {
  return raw.map((d, i) => {
    const r = SiemDestinationSchema.safeParse(d);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new SiemError(
        `siem.destinations[${i}] is invalid: ${
          issue.path.join(".") || "(entry)"
        }: ${issue.message}`,
        { fix: "Fix the entry in config.json (see docs/configuration.md)." },
      );
    }
    destinationUrl(r.data); // HTTPS rule, checked at start rather than at first send
    return r.data;
  });
}

/**
 * Starts one delivery loop per enabled destination. Throws at once when a destination is
 * misconfigured (bad url, plain http to another host), so the mistake is seen at start.
 */
export function startSiemForwarder(options: SiemForwarderOptions): SiemForwarder {
  const destinations = parseDestinations(options.destinations);
  const names = new Set<string>();
  for (const d of destinations) {
    if (names.has(d.name)) {
      throw new SiemError(`Two SIEM destinations are named ${d.name}.`, {
        fix: "Give each entry of siem.destinations a unique name.",
      });
    }
    names.add(d.name);
  }
  const store = new CursorStore(options.log.database);
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const clock = options.clock ?? (() => new Date());
  const workers = destinations.filter((d) => d.enabled).map((d) =>
    new DestinationWorker(d, options, store, tuning, clock)
  );
  const unsubscribe = options.log.onAppend(() => workers.forEach((w) => w.wake()));
  for (const w of workers) w.start();
  return {
    wake: () => workers.forEach((w) => w.wake()),
    stop: async () => {
      unsubscribe();
      await Promise.all(workers.map((w) => w.stop()));
    },
    status: () => siemStatus(options.log, destinations, clock()),
    keepAfter: () => siemKeepAfter(options.log, destinations),
  };
}

/** Seqs pruning must not pass, from the stored cursors of the enabled destinations. */
export function siemKeepAfter(
  log: AuditLog,
  destinations: readonly SiemDestination[],
): Map<string, number> {
  const store = new CursorStore(log.database);
  return new Map(
    destinations.filter((d) => d.enabled).map((
      d,
    ) => [`siem:${d.name}`, store.get(d.name)?.deliveredSeq ?? 0]),
  );
}

/**
 * Delivery status and lag of each destination, read from `audit.db` (works whether or not the
 * forwarder runs in this process, so `wirken status` can call it).
 */
export function siemStatus(
  log: AuditLog,
  destinations: readonly SiemDestination[],
  now: Date = new Date(),
): SiemDestinationStatus[] {
  const store = new CursorStore(log.database);
  const headSeq = log.head()?.seq ?? 0;
  const firstSeq = log.firstSeq() ?? headSeq + 1;
  return destinations.map((d) => {
    const c = store.get(d.name);
    const delivered = c?.deliveredSeq ?? 0;
    // Events pruned before a destination existed were never its to receive.
    const pending = Math.max(0, headSeq - Math.max(delivered, firstSeq - 1));
    let lagSeconds = 0;
    if (pending > 0) {
      const oldest = log.readAfter(Math.max(delivered, firstSeq - 1), 1)[0];
      if (oldest) {
        lagSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(oldest.time)) / 1000));
      }
    }
    return {
      name: d.name,
      kind: d.kind,
      enabled: d.enabled,
      state: d.enabled ? c?.state ?? "new" : "disabled",
      deliveredSeq: delivered,
      headSeq,
      lagEvents: pending,
      lagSeconds,
      attempts: c?.attempts ?? 0,
      lastError: c?.lastError ?? null,
      lastSuccessAt: c?.lastSuccessAt ?? null,
    };
  });
}

class DestinationWorker {
  readonly #dest: SiemDestination;
  readonly #opts: SiemForwarderOptions;
  readonly #store: CursorStore;
  readonly #tuning: SiemTuning;
  readonly #clock: () => Date;
  readonly #logger: Logger | undefined;
  #stopped = false;
  #wakeUp: (() => void) | null = null;
  #woken = false;
  #loop: Promise<void> | null = null;
  #inflight: AbortController | null = null;
  #batchSize: number;

  constructor(
    dest: SiemDestination,
    opts: SiemForwarderOptions,
    store: CursorStore,
    tuning: SiemTuning,
    clock: () => Date,
  ) {
    this.#dest = dest;
    this.#opts = opts;
    this.#store = store;
    this.#tuning = tuning;
    this.#clock = clock;
    this.#logger = opts.logger?.child(`siem.${dest.name}`);
    this.#batchSize = dest.batchSize;
  }

  start(): void {
    this.#loop = this.#run().catch((e) => {
      this.#logger?.error("SIEM forwarding stopped by an unexpected error", { error: e });
    });
  }

  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeUp?.();
    if (!this.#loop) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        // A request still in flight is abandoned; its batch is re-sent after restart (at least
        // once; receivers dedupe by seq).
        this.#inflight?.abort(new SiemError("forwarder stopped"));
        resolve();
      }, this.#tuning.stopTimeoutMs);
    });
    await Promise.race([this.#loop, timedOut]);
    clearTimeout(timer);
    await this.#loop;
  }

  /** Sleeps `ms`, or until woken (when `wakeable`) or stopped. */
  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (wakeable && this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeUp = () => {
        if (this.#stopped || wakeable) {
          this.#woken = false;
          done();
        }
      };
    });
  }

  async #run(): Promise<void> {
    const name = this.#dest.name;
    let idle = false;
    let failures = 0;
    while (!this.#stopped) {
      let cursor: number;
      let events: AuditEvent[];
      try {
        cursor = this.#store.get(name)?.deliveredSeq ?? 0;
        events = this.#opts.log.readAfter(cursor, this.#batchSize);
        failures = 0;
      } catch (e) {
        // A busy or briefly unreadable audit.db must not end forwarding for good.
        failures++;
        this.#logger?.error("SIEM forwarder cannot read the audit log; retrying", { error: e });
        await this.#sleep(
          Math.min(this.#tuning.maxDelayMs, this.#tuning.baseDelayMs * 2 ** Math.min(failures, 20)),
          false,
        );
        continue;
      }
      if (events.length === 0) {
        await this.#sleep(this.#tuning.pollMs, true);
        idle = true;
        continue;
      }
      if (idle && events.length < this.#batchSize && this.#tuning.lingerMs > 0) {
        idle = false;
        await this.#sleep(this.#tuning.lingerMs, false);
        continue;
      }
      idle = false;
      this.#woken = false;
      const outcome = await this.#send(events);
      if (this.#stopped && outcome.type !== "delivered") return;
      await this.#handle(outcome, events);
    }
  }

  async #handle(outcome: Outcome, events: AuditEvent[]): Promise<void> {
    const name = this.#dest.name;
    const now = this.#clock();
    switch (outcome.type) {
      case "delivered": {
        const before = this.#store.get(name);
        this.#store.delivered(name, events[events.length - 1].seq, now);
        if (before && before.state !== "ok") {
          this.#logger?.info("SIEM destination recovered", {
            destination: name,
            after: before.attempts,
          });
        }
        if (this.#batchSize < this.#dest.batchSize) {
          this.#batchSize = Math.min(this.#dest.batchSize, this.#batchSize * 2);
        }
        return;
      }
      case "too_large":
        if (this.#batchSize > 1) {
          this.#batchSize = Math.max(1, Math.floor(Math.min(this.#batchSize, events.length) / 2));
          return;
        }
        return await this.#handle({
          type: "held",
          reason: `HTTP 413: event seq ${events[0].seq} alone is too large for ${name}`,
          fix: "Raise the destination's size limit; the event stays queued until it is accepted.",
        }, events);
      case "retry": {
        const c = this.#store.failed(name, "retrying", outcome.reason, now);
        const exp = Math.min(
          this.#tuning.maxDelayMs,
          this.#tuning.baseDelayMs * 2 ** Math.min(c.attempts - 1, 30),
        );
        const jittered = exp * (this.#opts.random ?? Math.random)();
        const delay = outcome.retryAfterMs !== undefined
          ? Math.min(this.#tuning.maxDelayMs, Math.max(outcome.retryAfterMs, jittered))
          : jittered;
        if (c.attempts === 1 || c.attempts % 10 === 0) {
          this.#logger?.warn("SIEM delivery failed; retrying", {
            destination: name,
            reason: outcome.reason,
            attempts: c.attempts,
            pendingFromSeq: events[0].seq,
          });
        }
        await this.#sleep(delay, false);
        return;
      }
      case "held": {
        const before = this.#store.get(name);
        this.#store.failed(name, "held", outcome.reason, now);
        if (before?.state !== "held" || before.lastError !== outcome.reason) {
          // Loud on purpose: events are piling up in audit.db until someone fixes this.
          this.#logger?.error(`SIEM destination ${name} is HELD: ${outcome.reason}`, {
            destination: name,
            heldAtSeq: events[0].seq,
            fix: outcome.fix,
          });
        }
        await this.#sleep(this.#tuning.holdRetryMs, false);
        return;
      }
    }
  }

  async #send(events: AuditEvent[]): Promise<Outcome> {
    const dest = this.#dest;
    const credential = credentialFor(dest);
    let key;
    try {
      key = this.#opts.credentials.get(credential);
    } catch (e) {
      return {
        type: "retry",
        reason: `cannot read ${credential} from the vault: ${(e as Error).message}`,
      };
    }
    if (!key) {
      return {
        type: "held",
        reason: `the vault has no credential ${credential}`,
        fix: `Store it: wirken credentials add ${credential}`,
      };
    }
    let request;
    try {
      request = buildRequest(dest, events, key, { hostname: this.#hostname(), now: this.#clock() });
    } catch (e) {
      return {
        type: "held",
        reason: (e as Error).message,
        fix: "Fix the destination in config.json.",
      };
    }
    const controller = new AbortController();
    this.#inflight = controller;
    const timer = setTimeout(
      () => controller.abort(new SiemError("request timed out")),
      this.#tuning.requestTimeoutMs,
    );
    try {
      const response = await (this.#opts.fetch ?? fetch)(request.url, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        signal: controller.signal,
        // A redirect could carry the key to another host, or to plain http.
        redirect: "manual",
      });
      // The body is read only to free the connection; it is never logged (it may echo the key).
      await response.body?.cancel().catch(() => {});
      const s = response.status;
      if (s >= 200 && s < 300) return { type: "delivered" };
      if (s === 429 || s === 408 || s >= 500) {
        return { type: "retry", reason: `HTTP ${s}`, retryAfterMs: retryAfterMs(response.headers) };
      }
      if (s === 413) return { type: "too_large" };
      return {
        type: "held",
        reason: `HTTP ${s} (rejected; retrying the same request cannot succeed)`,
        fix: s === 401 || s === 403
          ? `Check the key: wirken credentials rotate ${credential}`
          : s >= 300 && s < 400
          ? "Set the destination url to the final endpoint (redirects are not followed)."
          : "Check the destination's url and settings in config.json.",
      };
    } catch (e) {
      const reason = controller.signal.aborted
        ? String((controller.signal.reason as Error)?.message ?? "aborted")
        : `network error: ${(e as Error).message}`;
      return { type: "retry", reason };
    } finally {
      clearTimeout(timer);
      this.#inflight = null;
    }
  }

  #hostname(): string {
    if (this.#opts.hostname) return this.#opts.hostname;
    try {
      return Deno.hostname();
    } catch {
      return "wirken";
    }
  }
}
