/**
 * Shared fixtures of the audit and SIEM tests: temp dirs, a settable clock, an in-memory
 * credential store and raw (trigger-free) access to `audit.db` for tampering.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Secret } from "../../src/secret.ts";
import type { CredentialInfo, CredentialStore } from "../../src/vault/types.ts";
import { generateSigningKey } from "../../src/audit/keys.ts";
import { type AuditLog, openAuditLog } from "../../src/audit/log.ts";

/** A temp dir removed by the returned `cleanup`. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "wirken-audit-" });
  return { dir, cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}) };
}

/** A clock tests move by hand. */
export class FakeClock {
  /** Current time in ms. */
  ms: number;
  /** Starts at `start`. */
  constructor(start = Date.parse("2026-01-01T00:00:00.000Z")) {
    this.ms = start;
  }
  /** The clock function to inject. */
  readonly now = (): Date => new Date(this.ms);
  /** Moves forward by `days`. */
  advanceDays(days: number): void {
    this.ms += days * 86_400_000;
  }
}

/** An in-memory {@linkcode CredentialStore}. */
export class MemoryCredentials implements CredentialStore {
  #values = new Map<string, { value: Secret; info: CredentialInfo }>();
  /** Seeds `entries`. */
  constructor(entries: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(entries)) this.set(k, new Secret(v));
  }
  /** See {@linkcode CredentialStore.get}. */
  get(name: string): Secret | undefined {
    return this.#values.get(name)?.value;
  }
  /** See {@linkcode CredentialStore.set}. */
  set(name: string, value: Secret, options: { expiresAt?: Date | null } = {}): void {
    const now = new Date();
    this.#values.set(name, {
      value,
      info: { name, createdAt: now, updatedAt: now, expiresAt: options.expiresAt ?? null },
    });
  }
  /** See {@linkcode CredentialStore.remove}. */
  remove(name: string): boolean {
    return this.#values.delete(name);
  }
  /** See {@linkcode CredentialStore.list}. */
  list(): CredentialInfo[] {
    return [...this.#values.values()].map((v) => v.info).sort((a, b) =>
      a.name.localeCompare(b.name)
    );
  }
}

/** A fresh log in a temp dir with a signing key and a fake clock. */
export async function freshLog(): Promise<{
  log: AuditLog;
  path: string;
  clock: FakeClock;
  key: Secret;
  cleanup: () => Promise<void>;
}> {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, "audit.db");
  const clock = new FakeClock();
  const key = generateSigningKey();
  const log = openAuditLog(path, { signingKey: key, clock: clock.now });
  return {
    log,
    path,
    clock,
    key,
    cleanup: async () => {
      try {
        log.close();
      } catch { /* already closed */ }
      await cleanup();
    },
  };
}

/** Runs `sql` on `path` with the append-only triggers dropped: what an attacker with the file can do. */
export function tamper(path: string, sql: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`DROP TRIGGER IF EXISTS events_no_update;
      DROP TRIGGER IF EXISTS events_next_seq_only;
      DROP TRIGGER IF EXISTS events_delete_only_checkpointed;`);
    db.exec(sql);
  } finally {
    db.close();
  }
}
