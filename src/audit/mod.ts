/**
 * The audit room's public surface, for the gateway's composition root and the CLI.
 *
 * Other rooms only need {@linkcode AuditSink} (from `types.ts`) and, for tools,
 * {@linkcode recordThenRun}.
 *
 * @module
 */
export type { AuditEventInput, AuditKind, AuditSink } from "./types.ts";
export type { AuditEvent } from "./chain.ts";
export {
  AuditLog,
  type AuditLogOptions,
  type AuditQuery,
  openAuditLog,
  type PruneResult,
} from "./log.ts";
export { ensureSigningKey } from "./keys.ts";
export { recordThenRun } from "./guard.ts";
export {
  type AuditServices,
  type AuditStatus,
  readAuditStatus,
  startAuditServices,
} from "./service.ts";
export { describeVerifyResult, type VerifyResult } from "./verify.ts";
export { AuditError } from "./errors.ts";
