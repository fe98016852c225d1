/**
 * The vault itself: `vault.db`, one row per credential holding a nonce and an
 * XChaCha20-Poly1305 ciphertext bound to the credential's name, plus plain metadata (dates).
 * Values leave only as {@linkcode Secret}; nothing here logs a value or key.
 *
 * Build one with `openVault` (open.ts), which fetches the master key from a keychain backend.
 *
 * @module
 */
import { equalBytes } from "../timing_safe.ts";
import type { Database, Migration } from "../store/sqlite.ts";
import type { Logger } from "../log/logger.ts";
import { Secret } from "../secret.ts";
import { generateKey, OpenFailure, openSealed, seal, type Sealed, wipe } from "./crypto.ts";
import {
  CredentialNotFoundError,
  InvalidCredentialNameError,
  VaultError,
  VaultKeyError,
  VaultTamperError,
} from "./errors.ts";
import type { BackendContext, BackendFactory, KeychainBackend } from "./keychain/backend.ts";
import type { CredentialInfo, CredentialStore, SetOptions } from "./types.ts";

/** Names wirken accepts: they appear in commands and keychain attributes, so keep them plain. */
export const CREDENTIAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** vault.db's schema. Forward-only: never edit a shipped step, add one. */
export const VAULT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "credentials and vault metadata",
    up: `
      CREATE TABLE vault_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      CREATE TABLE credentials (
        name TEXT PRIMARY KEY,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT,
        rotation_due_at TEXT,
        rotation_period_days INTEGER,
        last_used_at TEXT
      ) STRICT;`,
  },
];

/** The plaintext sealed into the key check; only its successful decryption matters. */
const KEY_CHECK_PLAINTEXT = new TextEncoder().encode("wirken vault key check v1");
/** How often (ms) reading a credential may write its `last_used_at`, to keep reads cheap. */
const TOUCH_INTERVAL_MS = 60_000;

/** What `vault_meta` holds. */
export interface VaultMeta {
  vaultId: string | null;
  backend: string | null;
  keyCheck: Sealed | null;
  generation: number;
}

/** Reads `vault_meta`. */
export function readMeta(db: Database): VaultMeta {
  const rows = db.prepare("SELECT key, value FROM vault_meta").all() as {
    key: string;
    value: string;
  }[];
  const m = new Map(rows.map((r) => [r.key, r.value]));
  const nonce = m.get("key_check_nonce");
  const ct = m.get("key_check");
  return {
    vaultId: m.get("vault_id") ?? null,
    backend: m.get("backend") ?? null,
    keyCheck: nonce && ct ? { nonce: fromHex(nonce), ciphertext: fromHex(ct) } : null,
    generation: Number(m.get("key_generation") ?? "0"),
  };
}

/** Writes meta entries (inside the caller's transaction). */
export function writeMeta(db: Database, entries: Record<string, string>): void {
  const stmt = db.prepare(
    "INSERT INTO vault_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  );
  for (const [k, v] of Object.entries(entries)) stmt.run(k, v);
}

/** The key-check meta entries for `key`. */
export function keyCheckEntries(key: Uint8Array, vaultId: string): Record<string, string> {
  const s = seal(key, `keycheck:${vaultId}`, KEY_CHECK_PLAINTEXT);
  return { key_check_nonce: toHex(s.nonce), key_check: toHex(s.ciphertext) };
}

/** True when `key` opens the vault's key check. */
export function keyOpens(key: Uint8Array, meta: VaultMeta): boolean {
  if (!meta.keyCheck || !meta.vaultId) return false;
  try {
    openSealed(key, `keycheck:${meta.vaultId}`, meta.keyCheck);
    return true;
  } catch {
    return false;
  }
}

/** A step of {@linkcode Vault.rekey}, reported to `onStep` (tests crash the process there). */
export type RekeyStep =
  | "stored-next"
  | "reencrypting"
  | "before-commit"
  | "committed"
  | "stored-current"
  | "done";

/** Options of {@linkcode Vault.rekey}. */
export interface RekeyOptions {
  /**
   * Move the master key to another backend (e.g. from the passphrase file to the Secret
   * Service). The same crash-safe protocol applies; the old backend's key is deleted at the end.
   */
  to?: BackendFactory;
  /** Called at each step; awaited, so a test can stop the process exactly there. */
  onStep?: (step: RekeyStep, detail: { done: number; total: number }) => void | Promise<void>;
}

/** Result of {@linkcode Vault.verify}. */
export interface VerifyReport {
  checked: number;
  problems: { name: string; reason: string }[];
}

/** Options the vault is built with (see `openVault`). */
export interface VaultInit {
  db: Database;
  path: string;
  key: Uint8Array;
  vaultId: string;
  generation: number;
  backend: KeychainBackend;
  /** What the backend was built with; lets `rekey({ to })` build another for this vault. */
  backendContext?: BackendContext;
  log?: Logger;
  now?: () => Date;
}

interface Row {
  name: string;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  rotation_due_at: string | null;
  rotation_period_days: number | null;
  last_used_at: string | null;
}

const META_COLUMNS =
  "name, created_at, updated_at, expires_at, rotation_due_at, rotation_period_days, last_used_at";

/** The encrypted credential store. Implements {@linkcode CredentialStore}. */
export class Vault implements CredentialStore {
  readonly #db: Database;
  #backend: KeychainBackend;
  readonly #backendContext: BackendContext | undefined;
  readonly #log: Logger | undefined;
  readonly #now: () => Date;
  readonly #touched = new Map<string, number>();
  #key: Uint8Array;
  #generation: number;
  #closed = false;
  /** Path of vault.db. */
  readonly path: string;
  /** The vault's random identifier (keys keychain items). */
  readonly vaultId: string;

  /** Use `openVault` instead; this takes an already-verified key. */
  constructor(init: VaultInit) {
    this.#db = init.db;
    this.#key = init.key;
    this.#backend = init.backend;
    this.#backendContext = init.backendContext;
    this.#generation = init.generation;
    this.#log = init.log;
    this.#now = init.now ?? (() => new Date());
    this.path = init.path;
    this.vaultId = init.vaultId;
  }

  /** Which backend holds the master key, e.g. `libsecret`. */
  get backendId(): string {
    return this.#backend.id;
  }

  /** The backend's human name. */
  get backendLabel(): string {
    return this.#backend.label;
  }

  /**
   * The value, or `undefined` when absent. Expired values are still returned (the
   * {@linkcode CredentialStore} contract); use `requireCredential` to enforce expiry. A row
   * that fails authentication throws {@linkcode VaultTamperError}, never returns garbage.
   */
  get(name: string): Secret | undefined {
    this.#open();
    this.#checkGeneration();
    const row = this.#db.prepare("SELECT name, nonce, ciphertext FROM credentials WHERE name = ?")
      .get(name) as Pick<Row, "name" | "nonce" | "ciphertext"> | undefined;
    if (!row) return undefined;
    const value = this.#decrypt(row);
    this.#touch(name);
    return value;
  }

  /** Creates or replaces `name` (created date kept on replace). */
  set(name: string, value: Secret, options: SetOptions = {}): void {
    this.#write(name, value, options, "upsert");
  }

  /** Creates `name`; fails when it already exists (use {@linkcode rotate}). */
  add(name: string, value: Secret, options: SetOptions = {}): void {
    this.#write(name, value, options, "insert");
  }

  /**
   * Replaces the value of an existing credential in one transaction: readers see the old value
   * until the new one is committed, and a crash leaves one or the other. The expiry is the one
   * given now (a new value's lifetime is its own); the rotation period carries over.
   */
  rotate(name: string, value: Secret, options: SetOptions = {}): void {
    this.#write(name, value, options, "update");
  }

  /** Deletes `name`; true when it existed. */
  remove(name: string): boolean {
    this.#open();
    return this.#tx(() => {
      const r = this.#db.prepare("DELETE FROM credentials WHERE name = ?").run(name);
      const removed = Number(r.changes) > 0;
      if (removed) this.#log?.info("credential removed", { credential: name });
      return removed;
    });
  }

  /** Metadata of every credential, sorted by name. */
  list(): CredentialInfo[] {
    this.#open();
    return listInfos(this.#db);
  }

  /** Metadata of `name`, or `undefined`. */
  info(name: string): CredentialInfo | undefined {
    this.#open();
    const row = this.#db.prepare(`SELECT ${META_COLUMNS} FROM credentials WHERE name = ?`)
      .get(name) as unknown as Row | undefined;
    return row ? toInfo(row) : undefined;
  }

  /** Authenticates every row without returning any value: the tamper check `doctor` runs. */
  verify(): VerifyReport {
    this.#open();
    this.#checkGeneration();
    const rows = this.#db.prepare("SELECT name, nonce, ciphertext FROM credentials ORDER BY name")
      .all() as unknown as Row[];
    const problems: VerifyReport["problems"] = [];
    for (const row of rows) {
      try {
        wipe(openSealed(this.#key, row.name, row));
      } catch (e) {
        problems.push({ name: row.name, reason: e instanceof OpenFailure ? e.reason : String(e) });
      }
    }
    return { checked: rows.length, problems };
  }

  /**
   * Re-encrypts every credential under a fresh master key.
   *
   * Crash safety: the new key is first stored in the backend's `next` slot; all rows and the
   * key check are then rewritten in ONE SQLite transaction; only after the commit does the new
   * key replace `current`. Whatever instant the process dies, `openVault` finds a key that opens
   * the database (it falls back to `next` and promotes it), and every row decrypts.
   * A row that fails authentication aborts the rekey before anything changes.
   */
  async rekey(options: RekeyOptions = {}): Promise<{ count: number; generation: number }> {
    this.#open();
    const step = options.onStep ?? (() => {});
    const from = this.#backend;
    let target = from;
    if (options.to) {
      if (!this.#backendContext) {
        throw new VaultError("This vault cannot change backends.", {
          fix: "Open it with openVault.",
        });
      }
      target = options.to(this.#backendContext);
      const s = await target.status();
      if (!s.ok) {
        throw new VaultKeyError(`The vault backend ${target.label} cannot be used: ${s.detail}.`, {
          fix: "Fix it (see wirken doctor) or keep the current backend; nothing was changed.",
        });
      }
    }
    const newKey = generateKey();
    await target.storeMasterKey(newKey, "next");
    const echoed = await target.loadMasterKey("next");
    if (!echoed || !equalBytes(echoed, newKey)) {
      throw new VaultKeyError(`${target.label} did not return the key just stored.`, {
        fix: "The keychain is not keeping items; nothing was changed. Run `wirken doctor`.",
      });
    }
    wipe(echoed);
    const total = (this.#db.prepare("SELECT COUNT(*) AS n FROM credentials").get() as {
      n: number;
    }).n;
    await step("stored-next", { done: 0, total });
    try {
      beginImmediate(this.#db);
    } catch (e) {
      await target.deleteMasterKey("next").catch(() => {});
      throw e;
    }
    let committed = false;
    try {
      this.#checkGeneration();
      const rows = this.#db.prepare("SELECT name, nonce, ciphertext FROM credentials")
        .all() as unknown as Row[];
      const update = this.#db.prepare(
        "UPDATE credentials SET nonce = ?, ciphertext = ? WHERE name = ?",
      );
      let done = 0;
      for (const row of rows) {
        let plain: Uint8Array;
        try {
          plain = openSealed(this.#key, row.name, row);
        } catch (e) {
          throw new VaultTamperError(row.name, e instanceof OpenFailure ? e.reason : String(e));
        }
        const s = seal(newKey, row.name, plain);
        wipe(plain);
        update.run(s.nonce, s.ciphertext, row.name);
        done++;
        if (done === Math.ceil(rows.length / 2)) await step("reencrypting", { done, total });
      }
      const generation = this.#generation + 1;
      // The backend id changes in the same transaction as the ciphertexts: after a crash,
      // openVault looks in the backend that matches the rows (its `next` slot if need be).
      writeMeta(this.#db, {
        ...keyCheckEntries(newKey, this.vaultId),
        key_generation: String(generation),
        backend: target.id,
        rekeyed_at: this.#now().toISOString(),
      });
      await step("before-commit", { done, total });
      this.#db.exec("COMMIT");
      committed = true;
      wipe(this.#key);
      this.#key = newKey;
      this.#generation = generation;
      this.#backend = target;
      await step("committed", { done, total });
      await target.storeMasterKey(newKey, "current");
      await step("stored-current", { done, total });
      await target.deleteMasterKey("next");
      if (target.id !== from.id) {
        // The old key opens nothing any more; removing it is tidiness, not safety. (Same id
        // means the same storage, already overwritten above: deleting would drop the new key.)
        await from.deleteMasterKey("current").catch((e) =>
          this.#log?.warn("could not delete the old master key", { backend: from.id, error: e })
        );
      }
      await step("done", { done, total });
      this.#log?.info("vault rekeyed", { credentials: done, generation, backend: target.id });
      return { count: done, generation };
    } catch (e) {
      if (!committed) {
        this.#db.exec("ROLLBACK");
        await target.deleteMasterKey("next").catch(() => {});
        wipe(newKey);
      }
      throw e;
    }
  }

  /** Closes the database and wipes the key from memory. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    wipe(this.#key);
    this.#db.close();
  }

  #write(
    name: string,
    value: Secret,
    options: SetOptions,
    mode: "insert" | "update" | "upsert",
  ): void {
    this.#open();
    if (!CREDENTIAL_NAME.test(name)) throw new InvalidCredentialNameError(name);
    const now = this.#now();
    this.#tx(() => {
      const old = this.#db.prepare(`SELECT ${META_COLUMNS} FROM credentials WHERE name = ?`)
        .get(name) as unknown as Row | undefined;
      if (mode === "insert" && old) {
        throw new VaultError(`A credential named "${name}" already exists.`, {
          fix: `Replace its value with: wirken credentials rotate ${name}`,
        });
      }
      if (mode === "update" && !old) throw new CredentialNotFoundError(name);
      const period = options.rotationPeriodDays !== undefined
        ? options.rotationPeriodDays
        : old?.rotation_period_days ?? null;
      const due = options.rotationDueAt !== undefined
        ? options.rotationDueAt
        : period
        ? new Date(now.getTime() + period * 86_400_000)
        : null;
      const expires = options.expiresAt !== undefined
        ? options.expiresAt
        : mode === "upsert"
        ? (old?.expires_at ? new Date(old.expires_at) : null)
        : null;
      const plain = new TextEncoder().encode(value.reveal());
      const s = seal(this.#key, name, plain);
      wipe(plain);
      this.#db.prepare(
        `INSERT INTO credentials (name, nonce, ciphertext, created_at, updated_at, expires_at,
           rotation_due_at, rotation_period_days, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
         ON CONFLICT(name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext,
           updated_at = excluded.updated_at, expires_at = excluded.expires_at,
           rotation_due_at = excluded.rotation_due_at,
           rotation_period_days = excluded.rotation_period_days`,
      ).run(
        name,
        s.nonce,
        s.ciphertext,
        old?.created_at ?? now.toISOString(),
        now.toISOString(),
        expires?.toISOString() ?? null,
        due?.toISOString() ?? null,
        period,
      );
    });
    this.#log?.info(writeVerb(mode), { credential: name });
  }

  /** Runs `fn` in a write transaction after checking no other process rekeyed meanwhile. */
  #tx<T>(fn: () => T): T {
    beginImmediate(this.#db);
    try {
      this.#checkGeneration();
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  #decrypt(row: Pick<Row, "name" | "nonce" | "ciphertext">): Secret {
    let plain: Uint8Array;
    try {
      plain = openSealed(this.#key, row.name, row);
    } catch (e) {
      if (e instanceof OpenFailure) throw new VaultTamperError(row.name, e.reason);
      throw e;
    }
    const text = new TextDecoder("utf-8", { fatal: true }).decode(plain);
    wipe(plain);
    return new Secret(text);
  }

  #touch(name: string): void {
    const now = this.#now().getTime();
    if (now - (this.#touched.get(name) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.#touched.set(name, now);
    // Usage tracking must never make a read fail or wait: if another process holds the write
    // lock, skip this update instead of sitting out the 5 s busy timeout.
    this.#db.exec("PRAGMA busy_timeout = 0");
    try {
      this.#db.prepare("UPDATE credentials SET last_used_at = ? WHERE name = ?")
        .run(new Date(now).toISOString(), name);
    } catch (e) {
      this.#touched.delete(name);
      this.#log?.debug("could not record credential use", { credential: name, error: e });
    } finally {
      this.#db.exec("PRAGMA busy_timeout = 5000");
    }
  }

  /** Another process may have rekeyed: writing with a stale key would make rows unreadable. */
  #checkGeneration(): void {
    const row = this.#db.prepare("SELECT value FROM vault_meta WHERE key = 'key_generation'")
      .get() as { value: string } | undefined;
    if (Number(row?.value ?? "0") !== this.#generation) {
      throw new VaultKeyError(
        "The vault was rekeyed by another process while this one had it open.",
        {
          fix: "Run the command again (a running gateway must be restarted: wirken run).",
        },
      );
    }
  }

  #open(): void {
    if (this.#closed) {
      throw new VaultError("The vault is closed.", { fix: "This is a bug in wirken." });
    }
  }
}

function writeVerb(mode: "insert" | "update" | "upsert"): string {
  return mode === "insert"
    ? "credential added"
    : mode === "update"
    ? "credential rotated"
    : "credential stored";
}

/** Metadata of every credential in `db`, sorted by name; needs no key (dates are not secret). */
export function listInfos(db: Database): CredentialInfo[] {
  const rows = db.prepare(`SELECT ${META_COLUMNS} FROM credentials ORDER BY name`)
    .all() as unknown as Row[];
  return rows.map(toInfo);
}

function toInfo(r: Row): CredentialInfo {
  const d = (s: string | null) => (s ? new Date(s) : null);
  return {
    name: r.name,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    expiresAt: d(r.expires_at),
    rotationDueAt: d(r.rotation_due_at),
    rotationPeriodDays: r.rotation_period_days,
    lastUsedAt: d(r.last_used_at),
  };
}

/**
 * Takes the write lock, turning SQLite's "database is locked" (another process held it past the
 * 5 s busy timeout) into an error that says what to do.
 */
export function beginImmediate(db: Database): void {
  try {
    db.exec("BEGIN IMMEDIATE");
  } catch (e) {
    if (/locked|busy/i.test((e as Error).message)) {
      throw new VaultError("vault.db is locked by another wirken process.", {
        fix: "Try again in a moment; if it persists, check for a stuck wirken process.",
        cause: e,
      });
    }
    throw e;
  }
}

/** Constant-time comparison of two byte arrays (re-exported where the vault imported it). */
export { equalBytes };

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
