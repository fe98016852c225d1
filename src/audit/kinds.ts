/**
 * The runtime list of {@linkcode AuditKind}s, checked against the type so the two never drift.
 *
 * @module
 */
import type { AuditKind } from "./types.ts";

/** Every audit kind, in the order `wirken audit log --kind` lists them. */
export const AUDIT_KINDS = [
  "message.in",
  "message.out",
  "tool.requested",
  "tool.approved",
  "tool.denied",
  "tool.executed",
  "tool.result",
  "tool.error",
  "tool.limited",
  "tool.interrupted",
  "auth.success",
  "auth.failure",
  "adapter.start",
  "adapter.crash",
  "config.change",
  "credential.access",
  "skill.install",
  "policy.refresh",
  "leak.blocked",
  "schedule.run",
  "model.failover",
  "model.usage",
  "budget.refused",
  "audit.checkpoint",
] as const satisfies readonly AuditKind[];

// Fails to compile when a kind is added to the type but not to the list above.
type Missing = Exclude<AuditKind, typeof AUDIT_KINDS[number]>;
const _exhaustive: [Missing] extends [never] ? true : Missing = true;
void _exhaustive;

const KIND_SET: ReadonlySet<string> = new Set(AUDIT_KINDS);

/** True when `kind` is a known audit kind. */
export function isAuditKind(kind: unknown): kind is AuditKind {
  return typeof kind === "string" && KIND_SET.has(kind);
}
