/**
 * What the gateway's composition root starts and stops: the audit log (with its signing key
 * from the vault), SIEM forwarding, and the prune scheduler, wired so pruning never removes an
 * event a destination has not received. Plus the read-only summary `wirken status` shows.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { CredentialStore } from "../vault/types.ts";
import type { SiemDestination } from "../config/schema.ts";
import { type AuditLog, openAuditLog } from "./log.ts";
import { ensureSigningKey } from "./keys.ts";
import { type PruneScheduler, startPruneScheduler } from "./retention.ts";
import {
  type SiemDestinationStatus,
  type SiemForwarder,
  siemStatus,
  type SiemTuning,
  startSiemForwarder,
} from "../siem/forwarder.ts";

/** The config sections the audit services read. */
export interface AuditServiceConfig {
  audit: { retentionDays: number };
  siem: { destinations: readonly SiemDestination[] };
}

/** Options of {@linkcode startAuditServices}. */
export interface AuditServiceOptions {
  /** `dataPaths(root).auditDb`. */
  path: string;
  /** The opened vault; the audit signing key is created in it on first start. */
  credentials: CredentialStore;
  config: AuditServiceConfig;
  logger?: Logger;
  /** Time source of event times and retention (tests inject one). */
  clock?: () => Date;
  fetch?: typeof fetch;
  siemTuning?: Partial<SiemTuning>;
  /** Time between prunes (default one day). */
  pruneIntervalMs?: number;
}

/** Running audit services. `log` is the {@linkcode AuditSink} to hand to every room. */
export interface AuditServices {
  log: AuditLog;
  forwarder: SiemForwarder;
  pruner: PruneScheduler;
  /** Stops pruning and forwarding (finishing requests in flight), then closes the log. */
  stop(): Promise<void>;
}

/**
 * Opens the audit log, starts SIEM forwarding, then prunes once and schedules daily prunes.
 * Throws (before anything runs) when the SIEM config is invalid or uses plain http off-host.
 */
export function startAuditServices(options: AuditServiceOptions): AuditServices {
  const signingKey = ensureSigningKey(options.credentials);
  const logger = options.logger?.child("audit");
  const log = openAuditLog(options.path, { signingKey, clock: options.clock, logger });
  let forwarder: SiemForwarder;
  try {
    forwarder = startSiemForwarder({
      log,
      destinations: options.config.siem.destinations,
      credentials: options.credentials,
      logger,
      // Wire timestamps (the webhook's replay window) always use the real clock; the injected
      // one only moves retention.
      fetch: options.fetch,
      tuning: options.siemTuning,
    });
  } catch (e) {
    log.close();
    throw e;
  }
  const pruner = startPruneScheduler(log, {
    retentionDays: options.config.audit.retentionDays,
    intervalMs: options.pruneIntervalMs,
    keepAfter: () => forwarder.keepAfter(),
    logger,
  });
  return {
    log,
    forwarder,
    pruner,
    stop: async () => {
      pruner.stop();
      await forwarder.stop();
      log.close();
    },
  };
}

/** What `wirken status` shows about the audit log. */
export interface AuditStatus {
  /** Newest seq, 0 for an empty log. */
  headSeq: number;
  /** Oldest retained seq, or null. */
  firstSeq: number | null;
  siem: SiemDestinationStatus[];
}

/**
 * Reads the audit summary and SIEM lag from `audit.db` in a separate process (the CLI), without
 * the gateway's help. Returns null when there is no audit log yet.
 */
export async function readAuditStatus(
  path: string,
  config: Pick<AuditServiceConfig, "siem">,
  now: Date = new Date(),
): Promise<AuditStatus | null> {
  try {
    await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const log = openAuditLog(path);
  try {
    return {
      headSeq: log.head()?.seq ?? 0,
      firstSeq: log.firstSeq(),
      siem: siemStatus(log, config.siem.destinations, now),
    };
  } finally {
    log.close();
  }
}
