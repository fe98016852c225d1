/**
 * The scheduler loop inside the gateway: every tick it takes the due tasks from the store,
 * claims each (the lease that keeps two runs of one task apart, even across processes), moves
 * its next run forward, and starts the run. A run is handed to `run`, which the gateway wires
 * to the one router, so a scheduled turn meets the same allow-list, rate limits, tools, tiers,
 * audit and budgets as a message from a person.
 *
 * Runs missed while the gateway was down: a task whose `missed` policy is `run` runs once at
 * start (all missed occurrences collapse into that one run); `skip` moves on to the next time.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import type { Logger } from "../log/logger.ts";
import type { ScheduleStore, Task } from "./store.ts";
import { nextRun } from "./timing.ts";

/** Time as the scheduler sees it; tests inject a clock they move by hand. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    }),
};

/** How a run ended. */
export interface RunOutcome {
  /** `delivered`, `refused`, `limited`, `failed`, `over_budget`, `error`. */
  status: string;
  /** Short and safe to show in `schedule list`. */
  detail: string;
}

/** What the scheduler needs. */
export interface SchedulerOptions {
  store: ScheduleStore;
  /** Runs one task (a turn through the router, answer delivered to the target). */
  run(task: Task, signal: AbortSignal): Promise<RunOutcome>;
  audit?: AuditSink;
  log?: Logger;
  clock?: Clock;
  /** Between looks at the store (default 15 s; `run-now` from the CLI waits at most this). */
  tickMs?: number;
  /** Longest run; its lease lasts this long and the run is aborted after it (default 15 min). */
  leaseMs?: number;
  /** A run later than this at start counts as missed (default 1 min). */
  graceMs?: number;
}

/** The running scheduler. */
export interface Scheduler {
  /** One look at the store: starts every due task not already running. */
  tick(): Promise<void>;
  /** Resolves when every run started so far has finished (tests). */
  idle(): Promise<void>;
  /** Stops the loop and aborts runs in flight; resolves when they ended. */
  stop(): Promise<void>;
}

/**
 * Starts the scheduler: applies the missed-run policy, then ticks until stopped. `loop: false`
 * (tests) applies the policy but leaves ticking to the caller.
 */
export function startScheduler(o: SchedulerOptions, loop = true): Scheduler {
  const clock = o.clock ?? systemClock;
  const tickMs = o.tickMs ?? 15_000;
  const leaseMs = o.leaseMs ?? 15 * 60_000;
  const graceMs = o.graceMs ?? 60_000;
  const stopping = new AbortController();
  const inFlight = new Map<string, Promise<void>>();

  // Missed while down: `skip` moves to the next time now, before the first tick can run it.
  const startedAt = clock.now();
  for (const t of o.store.list()) {
    if (t.paused || t.nextRun === null || t.nextRun >= startedAt - graceMs) continue;
    if (t.missed === "skip") {
      const next = nextRun(t.timing, startedAt, t.createdAt);
      o.store.setNextRun(t.id, next);
      o.log?.info("skipped a run missed while the gateway was down", { task: t.id });
    }
  }

  async function runOne(task: Task, now: number): Promise<void> {
    const runId = o.store.startRun(task.id, now);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), leaseMs);
    const onStop = () => ac.abort();
    stopping.signal.addEventListener("abort", onStop, { once: true });
    let outcome: RunOutcome;
    try {
      outcome = await o.run(task, ac.signal);
    } catch (e) {
      outcome = { status: "error", detail: e instanceof Error ? e.message : String(e) };
    } finally {
      clearTimeout(timer);
      stopping.signal.removeEventListener("abort", onStop);
    }
    // Audited before the lease is released, so a finished run is always on record.
    await o.audit?.append({
      kind: "schedule.run",
      agent: task.agent,
      channel: task.channel,
      actor: task.owner,
      payload: { task: task.id, status: outcome.status, scheduledFor: task.nextRun },
    }).catch(() => {});
    o.store.finishRun(runId, task.id, clock.now(), outcome.status, outcome.detail.slice(0, 500));
    if (outcome.status !== "delivered") {
      o.log?.warn("scheduled task did not deliver", { task: task.id, ...outcome });
    }
  }

  function tick(): Promise<void> {
    if (stopping.signal.aborted) return Promise.resolve();
    const now = clock.now();
    for (const task of o.store.due(now)) {
      if (inFlight.has(task.id)) continue;
      // Every missed occurrence collapses into this one run: the next is after `now`.
      const next = nextRun(task.timing, now, task.createdAt);
      if (!o.store.claim(task.id, now, now + leaseMs, next)) continue;
      const p = runOne(task, now).finally(() => inFlight.delete(task.id));
      inFlight.set(task.id, p);
    }
    return Promise.resolve();
  }

  let looping: Promise<void> = Promise.resolve();
  if (loop) {
    looping = (async () => {
      while (!stopping.signal.aborted) {
        try {
          await tick();
        } catch (e) {
          o.log?.warn("scheduler tick failed", { error: e });
        }
        await clock.sleep(tickMs, stopping.signal);
      }
    })();
  }

  return {
    tick,
    async idle() {
      while (inFlight.size) await Promise.all([...inFlight.values()]);
    },
    async stop() {
      stopping.abort();
      await looping;
      await Promise.all([...inFlight.values()]);
    },
  };
}
