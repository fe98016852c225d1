/**
 * The prune scheduler: prunes once at gateway start and then every day, so retention holds
 * without anyone remembering to run `wirken audit prune`.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { AuditLog, PruneResult } from "./log.ts";

/** Options of {@linkcode startPruneScheduler}. */
export interface PruneSchedulerOptions {
  /** `audit.retentionDays` from config (default 90). */
  retentionDays: number;
  /** Time between runs; default one day. */
  intervalMs?: number;
  /** Seqs to keep (SIEM cursors), asked afresh before every run. */
  keepAfter?: () => ReadonlyMap<string, number>;
  logger?: Logger;
  /** Events removed per transaction (default 50,000). */
  maxEventsPerStep?: number;
  /** Called after every run (tests, `wirken status`). */
  onResult?: (result: PruneResult | Error) => void;
}

/** A running scheduler. */
export interface PruneScheduler {
  /** Runs a prune now (also what the timer calls). Never throws; errors are logged. */
  runNow(): PruneResult | Error;
  /** Stops the timer. */
  stop(): void;
}

/**
 * Prunes everything past retention in bounded steps (one transaction and one checkpoint each),
 * so appends waiting to run a tool get the write lock in between. `keepAfter` is asked afresh
 * before each step.
 */
export function pruneInSteps(
  log: AuditLog,
  options: {
    retentionDays: number;
    keepAfter?: () => ReadonlyMap<string, number>;
    maxEventsPerStep?: number;
  },
): PruneResult {
  const step = options.maxEventsPerStep ?? 50_000;
  const once = () =>
    log.prune({
      retentionDays: options.retentionDays,
      keepAfter: options.keepAfter?.(),
      maxEvents: step,
    });
  let r = once();
  let total = r;
  while (r.pruned >= step) {
    r = once();
    total = {
      pruned: total.pruned + r.pruned,
      throughSeq: r.throughSeq ?? total.throughSeq,
      checkpointSeq: r.checkpointSeq ?? total.checkpointSeq,
      heldBy: r.heldBy ?? total.heldBy,
    };
  }
  return total;
}

/** Prunes now, then every `intervalMs`. The timer does not keep the process alive. */
export function startPruneScheduler(log: AuditLog, options: PruneSchedulerOptions): PruneScheduler {
  const interval = options.intervalMs ?? 24 * 60 * 60 * 1000;
  const runNow = (): PruneResult | Error => {
    let result: PruneResult | Error;
    try {
      result = pruneInSteps(log, {
        retentionDays: options.retentionDays,
        keepAfter: options.keepAfter,
        maxEventsPerStep: options.maxEventsPerStep,
      });
      if (result.pruned > 0) {
        options.logger?.info("audit events pruned", {
          pruned: result.pruned,
          throughSeq: result.throughSeq,
          checkpointSeq: result.checkpointSeq,
        });
      }
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
      // Pruning failing is not a reason to stop the gateway; the log only grows for a while.
      options.logger?.error("audit pruning failed", { error: result });
    }
    options.onResult?.(result);
    return result;
  };
  runNow();
  const timer = setInterval(runNow, interval);
  Deno.unrefTimer(timer);
  return { runNow, stop: () => clearInterval(timer) };
}
