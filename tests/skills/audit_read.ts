/**
 * Reads audit events back for CLI tests.
 *
 * @module
 */
import { join } from "node:path";
import { openAuditLog } from "../../src/audit/log.ts";

/** Every event in `<dataDir>/audit.db`, oldest first. */
export async function AUDIT_READ(
  dataDir: string,
): Promise<{ kind: string; payload: Record<string, unknown> }[]> {
  await Promise.resolve();
  const log = openAuditLog(join(dataDir, "audit.db"));
  try {
    return log.query({}).map((e) => ({ kind: e.kind, payload: e.payload ?? {} }));
  } finally {
    log.close();
  }
}
