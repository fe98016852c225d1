/**
 * The interface other rooms use to record audit events. The audit log itself (hash chain,
 * verify, prune, SIEM) lives beside this file; other rooms only need `AuditSink`.
 *
 * @module
 */

/** What happened. */
export type AuditKind =
  | "message.in"
  | "message.out"
  | "tool.requested"
  | "tool.approved"
  | "tool.denied"
  | "tool.executed"
  | "tool.result"
  | "tool.error"
  | "tool.limited"
  | "tool.interrupted"
  | "auth.success"
  | "auth.failure"
  | "adapter.start"
  | "adapter.crash"
  | "config.change"
  | "credential.access"
  | "skill.install"
  | "policy.refresh"
  | "leak.blocked"
  | "schedule.run"
  | "model.failover"
  | "model.usage"
  | "budget.refused"
  | "audit.checkpoint";

/** One event as a room submits it; seq, time and hashes are filled in by the log. */
export interface AuditEventInput {
  kind: AuditKind;
  session?: string;
  agent?: string;
  channel?: string;
  /** Who caused it: a sender id, `gateway`, `cli`, an adapter id. */
  actor: string;
  /** Details; secrets are redacted before the event is stored. */
  payload?: Record<string, unknown>;
}

/** Where events go. `append` resolves only once the event is durable on disk. */
export interface AuditSink {
  append(event: AuditEventInput): Promise<number>;
}
