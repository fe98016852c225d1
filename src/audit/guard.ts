/**
 * Write-before-execute as a function, so the tool room cannot get the order wrong: the
 * `tool.requested` event is durable before the action starts, and when it cannot be recorded
 * the action never starts.
 *
 * @module
 */
import type { AuditEventInput, AuditSink } from "./types.ts";

/**
 * Appends `requested` and, only once it is durable, runs `action` with its seq. When the append
 * rejects, the rejection propagates and `action` is not called.
 */
export async function recordThenRun<T>(
  sink: AuditSink,
  requested: AuditEventInput,
  action: (seq: number) => Promise<T>,
): Promise<T> {
  const seq = await sink.append(requested);
  return await action(seq);
}
