/**
 * Opening the vault: choose (or recall) the keychain backend, fetch and check the master key,
 * create the vault on first use. Also what `wirken doctor` calls to describe the backend.
 *
 * @module
 */
import { ensureDataDir } from "../config/paths.ts";
import { openDatabase } from "../store/sqlite.ts";
import type { Database } from "../store/sqlite.ts";
import { StoreError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { Secret } from "../secret.ts";
import { generateKey, wipe } from "./crypto.ts";
import { VaultError, VaultKeyError } from "./errors.ts";
import {
  BACKEND_IDS,
  type BackendContext,
  type BackendFactory,
  type BackendId,
  type KeychainBackend,
  type PassphraseSource,
} from "./keychain/backend.ts";
import { createLibsecretBackend } from "./keychain/libsecret.ts";
import { createMacosBackend } from "./keychain/macos.ts";
import { createPassphraseBackend } from "./keychain/passphrase.ts";
import { promptHidden } from "./prompt.ts";
import {
  beginImmediate,
  equalBytes,
  keyCheckEntries,
  keyOpens,
  listInfos,
  readMeta,
  toHex,
  Vault,
  VAULT_MIGRATIONS,
  type VaultMeta,
  writeMeta,
} from "./store.ts";
import { dataPaths } from "../config/paths.ts";
import type { CredentialInfo } from "./types.ts";
import { type CredentialWarning, credentialWarnings } from "./expiry.ts";

/** Environment access (a map in tests). */
export type Env = { get(name: string): string | undefined };

/** The built-in backends. */
export const DEFAULT_BACKENDS: Readonly<Record<BackendId, BackendFactory>> = {
  "macos-keychain": (ctx) => createMacosBackend(ctx),
  libsecret: (ctx) => createLibsecretBackend(ctx),
  passphrase: (ctx) => createPassphraseBackend(ctx),
};

/** Options of {@linkcode openVault}. */
export interface OpenVaultOptions {
  /** The data directory; vault.db (and vault.key for the passphrase backend) live there. */
  dataDir: string;
  env?: Env;
  /**
   * Force a backend for a NEW vault (an id, or a factory in tests). An existing vault always
   * uses the backend recorded in it. Default: `WIRKEN_VAULT_BACKEND`, else the first available
   * of macOS Keychain, Secret Service, passphrase file.
   */
  backend?: BackendId | BackendFactory;
  /** Factories by id, replacing the built-in ones (tests inject fakes or cheap KDF params). */
  backends?: Partial<Record<string, BackendFactory>>;
  /** Passphrase for the key-file backend; default {@linkcode defaultPassphraseSource}. */
  passphrase?: PassphraseSource;
  /** Create the vault when there is none (default true). */
  create?: boolean;
  log?: Logger;
  now?: () => Date;
}

/**
 * The passphrase from `WIRKEN_VAULT_PASSPHRASE`, else (when `interactive` and stdin is a
 * terminal) a hidden prompt, asked twice for a new key file. Remembered for the process, so a
 * rekey or a crash recovery does not ask again.
 */
export function defaultPassphraseSource(env: Env, interactive = true): PassphraseSource {
  let remembered: Secret | null = null;
  return {
    async get(mode) {
      if (remembered) return remembered;
      const fromEnv = env.get("WIRKEN_VAULT_PASSPHRASE");
      if (fromEnv) return (remembered = new Secret(fromEnv));
      if (!interactive || !Deno.stdin.isTerminal()) return null;
      const first = await promptHidden(
        mode === "create" ? "New vault passphrase: " : "Vault passphrase: ",
      );
      if (mode === "create" && first.length > 0) {
        const again = await promptHidden("Repeat the vault passphrase: ");
        if (again !== first) {
          throw new VaultKeyError("The two passphrases differ; the vault was not created.", {
            fix: "Run the command again and type the same passphrase twice.",
          });
        }
      }
      return first.length > 0 ? (remembered = new Secret(first)) : null;
    },
  };
}

/**
 * The passphrase for a NEW key file written by `rekey --backend passphrase`: from
 * `WIRKEN_VAULT_NEW_PASSPHRASE`, else a hidden prompt asked twice on a terminal, else the
 * current passphrase from `fallback` (so a non-interactive rekey keeps it).
 */
export function newPassphraseSource(env: Env, fallback: PassphraseSource): PassphraseSource {
  let remembered: Secret | null = null;
  return {
    async get(mode) {
      if (remembered) return remembered;
      const fromEnv = env.get("WIRKEN_VAULT_NEW_PASSPHRASE");
      if (fromEnv) return (remembered = new Secret(fromEnv));
      if (!Deno.stdin.isTerminal()) return (remembered = await fallback.get(mode));
      return (remembered = await defaultPassphraseSource(mapEnvWithout(env), true).get("create"));
    },
  };
}

function mapEnvWithout(env: Env): Env {
  // The prompt must not short-circuit to the CURRENT passphrase from the environment.
  return { get: (k) => (k === "WIRKEN_VAULT_PASSPHRASE" ? undefined : env.get(k)) };
}

/**
 * The backend factory for `rekey --backend <id>`: the built-in one, except that a passphrase
 * target asks for a new passphrase (see {@linkcode newPassphraseSource}), which is how the
 * passphrase is changed.
 */
export function rekeyTarget(id: BackendId, env: Env): BackendFactory {
  if (id !== "passphrase") return DEFAULT_BACKENDS[id];
  return (ctx) =>
    createPassphraseBackend({ ...ctx, passphrase: newPassphraseSource(env, ctx.passphrase) });
}

/** Opens (creating on first use) the vault in `options.dataDir`. */
export async function openVault(options: OpenVaultOptions): Promise<Vault> {
  const env = options.env ?? Deno.env;
  const paths = await ensureDataDir(options.dataDir);
  const log = options.log?.child("vault");
  const db = await openVaultDb(paths.vaultDb, options.create !== false);
  try {
    const ctxBase = {
      dataDir: options.dataDir,
      env,
      passphrase: options.passphrase ?? defaultPassphraseSource(env),
    };
    let meta = readMeta(db);
    if (!meta.keyCheck) {
      if (options.create === false) {
        throw new VaultError(`There is no vault in ${options.dataDir} yet.`, {
          fix: "Add a first credential: wirken credentials add <name> (or run wirken setup).",
        });
      }
      // Two processes may create the vault at once: the write lock makes one of them the
      // creator; the other re-reads and opens what the first made.
      beginImmediate(db);
      let committed = false;
      try {
        meta = readMeta(db);
        if (!meta.keyCheck) {
          const vaultId = meta.vaultId ?? toHex(crypto.getRandomValues(new Uint8Array(16)));
          const backend = await chooseBackend({ ...ctxBase, vaultId }, options);
          const key = generateKey();
          await backend.storeMasterKey(key, "current");
          const echoed = await backend.loadMasterKey("current");
          if (!echoed || !equalBytes(echoed, key)) {
            throw new VaultKeyError(`${backend.label} did not return the key just stored.`, {
              fix: "The keychain is not keeping items; try WIRKEN_VAULT_BACKEND=passphrase.",
            });
          }
          wipe(echoed);
          writeMeta(db, {
            vault_id: vaultId,
            backend: backend.id,
            key_generation: "1",
            created_at: (options.now?.() ?? new Date()).toISOString(),
            ...keyCheckEntries(key, vaultId),
          });
          db.exec("COMMIT");
          committed = true;
          log?.info("vault created", { backend: backend.id });
          return new Vault({
            db,
            path: paths.vaultDb,
            key,
            vaultId,
            generation: 1,
            backend,
            backendContext: { ...ctxBase, vaultId },
            log,
            now: options.now,
          });
        }
      } finally {
        if (!committed) db.exec("ROLLBACK");
      }
    }
    const vaultId = meta.vaultId as string;
    const backend = recordedBackend({ ...ctxBase, vaultId }, meta, options);
    const key = await unlock(backend, meta, log);
    log?.debug("vault opened", { backend: backend.id });
    return new Vault({
      db,
      path: paths.vaultDb,
      key,
      vaultId,
      generation: meta.generation,
      backend,
      backendContext: { ...ctxBase, vaultId },
      log,
      now: options.now,
    });
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Opens vault.db. Retries a few times because two processes creating the file at the same
 * moment can collide on the WAL switch or the first migration; the loser sees the winner's
 * result on the next attempt.
 */
async function openVaultDb(path: string, create: boolean): Promise<Database> {
  if (!create) {
    try {
      await Deno.stat(path);
    } catch {
      throw new VaultError(`There is no vault at ${path} yet.`, {
        fix: "Add a first credential: wirken credentials add <name> (or run wirken setup).",
      });
    }
  }
  // About 5 s in all, like SQLite's own busy timeout once the file is open.
  for (let attempt = 1;; attempt++) {
    try {
      return openDatabase(path, { migrations: VAULT_MIGRATIONS, synchronous: "FULL" });
    } catch (e) {
      if (!(e instanceof StoreError) || attempt >= 10) throw e;
      await new Promise((r) => setTimeout(r, 90 * attempt + Math.random() * 50));
    }
  }
}

function factoryFor(id: string, options: OpenVaultOptions): BackendFactory | undefined {
  return options.backends?.[id] ?? (DEFAULT_BACKENDS as Record<string, BackendFactory>)[id];
}

function forcedBackend(options: OpenVaultOptions, env: Env): BackendFactory | undefined {
  if (typeof options.backend === "function") return options.backend;
  const id = options.backend ?? env.get("WIRKEN_VAULT_BACKEND")?.trim();
  if (!id) return undefined;
  const f = factoryFor(id, options);
  if (!f) {
    throw new VaultError(`Unknown vault backend "${id}".`, {
      fix: `Set WIRKEN_VAULT_BACKEND to one of: ${BACKEND_IDS.join(", ")}.`,
      exitCode: 2,
    });
  }
  return f;
}

async function chooseBackend(
  ctx: BackendContext,
  options: OpenVaultOptions,
): Promise<KeychainBackend> {
  const forced = forcedBackend(options, ctx.env);
  if (forced) {
    const b = forced(ctx);
    const s = await b.status();
    if (!s.ok) {
      throw new VaultKeyError(`The vault backend ${b.label} cannot be used: ${s.detail}.`, {
        fix: "Fix it (see wirken doctor) or choose another with WIRKEN_VAULT_BACKEND.",
      });
    }
    return b;
  }
  for (const id of BACKEND_IDS) {
    const b = (factoryFor(id, options) as BackendFactory)(ctx);
    if (await b.available()) return b;
  }
  throw new VaultKeyError("No vault backend is available.", {
    fix: "Set WIRKEN_VAULT_PASSPHRASE.",
  });
}

function recordedBackend(
  ctx: BackendContext,
  meta: VaultMeta,
  options: OpenVaultOptions,
): KeychainBackend {
  const id = meta.backend ?? "";
  const forced = typeof options.backend === "function" ? options.backend(ctx) : undefined;
  if (forced) {
    if (forced.id !== id) {
      throw new VaultKeyError(`This vault's key is in "${id}", not "${forced.id}".`, {
        fix: "Open it with the backend it was created with.",
      });
    }
    return forced;
  }
  const f = factoryFor(id, options);
  if (!f) {
    throw new VaultKeyError(`vault.db names an unknown key backend "${id}".`, {
      fix: "Use the wirken version that created this vault, or restore vault.db from a backup.",
    });
  }
  return f(ctx);
}

/**
 * Loads the key from `current`; if it does not open the vault, tries `next` (a rekey that
 * committed but crashed before promoting its key) and promotes it.
 */
async function unlock(
  backend: KeychainBackend,
  meta: VaultMeta,
  log?: Logger,
): Promise<Uint8Array> {
  const current = await backend.loadMasterKey("current");
  if (current && keyOpens(current, meta)) return current;
  const next = await backend.loadMasterKey("next");
  if (next && keyOpens(next, meta)) {
    log?.warn("finishing an interrupted rekey: promoting the new master key", {
      backend: backend.id,
    });
    await backend.storeMasterKey(next, "current");
    await backend.deleteMasterKey("next");
    wipe(current);
    return next;
  }
  wipe(current);
  wipe(next);
  throw new VaultKeyError(
    current
      ? `The master key in ${backend.label} does not open this vault.`
      : `No master key for this vault was found in ${backend.label}.`,
    {
      fix:
        "Restore the keychain item (or vault.key) that belongs to this vault.db; without it the credentials cannot be decrypted.",
    },
  );
}

/** What `wirken doctor` prints about the master key. */
export interface KeychainReport {
  /** Backend id, e.g. `libsecret`; the one that would be chosen when there is no vault yet. */
  backend: string;
  /** Human name of the backend. */
  label: string;
  /** The backend works and (when a vault exists and the key can be had) opens the vault. */
  ok: boolean;
  /** One line of detail. */
  detail: string;
  /** A vault exists in the data directory. */
  vaultExists: boolean;
}

/**
 * Reports which backend holds (or would hold) the master key and whether it works. Never
 * prompts: for the passphrase backend without `WIRKEN_VAULT_PASSPHRASE` the key is not tried.
 * When the vault exists and the key loads, also checks it opens the vault.
 */
export async function describeKeychain(
  options: Pick<OpenVaultOptions, "dataDir" | "env" | "backends" | "backend">,
): Promise<KeychainReport> {
  const env = options.env ?? Deno.env;
  const path = dataPaths(options.dataDir).vaultDb;
  const passphrase = defaultPassphraseSource(env, false);
  let meta: VaultMeta | null = null;
  try {
    await Deno.stat(path);
    const db = openDatabase(path, { migrations: VAULT_MIGRATIONS });
    try {
      meta = readMeta(db);
    } finally {
      db.close();
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      return {
        backend: "unknown",
        label: "unknown",
        ok: false,
        detail: `cannot read ${path}: ${(e as Error).message}`,
        vaultExists: true,
      };
    }
  }
  if (!meta?.keyCheck || !meta.vaultId) {
    const ctx = { vaultId: "0".repeat(32), dataDir: options.dataDir, env, passphrase };
    try {
      const b = await chooseBackend(ctx, options);
      const s = await b.status();
      return {
        backend: b.id,
        label: b.label,
        ok: s.ok,
        detail: `no vault yet; would use it: ${s.detail}`,
        vaultExists: false,
      };
    } catch (e) {
      return {
        backend: "none",
        label: "none",
        ok: false,
        detail: (e as Error).message,
        vaultExists: false,
      };
    }
  }
  const ctx = { vaultId: meta.vaultId, dataDir: options.dataDir, env, passphrase };
  let backend: KeychainBackend;
  try {
    backend = recordedBackend(ctx, meta, options);
  } catch (e) {
    return {
      backend: meta.backend ?? "unknown",
      label: "unknown",
      ok: false,
      detail: (e as Error).message,
      vaultExists: true,
    };
  }
  const s = await backend.status();
  const base = { backend: backend.id, label: backend.label, vaultExists: true };
  if (!s.ok) return { ...base, ok: false, detail: s.detail };
  if (backend.id === "passphrase" && !env.get("WIRKEN_VAULT_PASSPHRASE")) {
    return {
      ...base,
      ok: true,
      detail: `${s.detail}; key not checked (no WIRKEN_VAULT_PASSPHRASE)`,
    };
  }
  try {
    const key = await unlock(backend, meta);
    wipe(key);
    return { ...base, ok: true, detail: `${s.detail}; master key opens the vault` };
  } catch (e) {
    return { ...base, ok: false, detail: (e as Error).message };
  }
}

/** What can be read from vault.db without the master key. */
export interface VaultSummary {
  /** A vault (with a master key) exists in the data directory. */
  exists: boolean;
  /** Backend id recorded in the vault, e.g. `libsecret`; `null` when there is no vault. */
  backend: string | null;
  /** Metadata of every credential, sorted by name (no values). */
  credentials: CredentialInfo[];
}

/**
 * Reads names, dates and the backend id WITHOUT the master key (dates are not secret), so
 * `credentials list/show`, `doctor` and `run` need no passphrase for them.
 */
export async function inspectVault(dataDir: string): Promise<VaultSummary> {
  const path = dataPaths(dataDir).vaultDb;
  try {
    await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { exists: false, backend: null, credentials: [] };
    throw e;
  }
  const db = await openVaultDb(path, false);
  try {
    const meta = readMeta(db);
    return { exists: meta.keyCheck !== null, backend: meta.backend, credentials: listInfos(db) };
  } finally {
    db.close();
  }
}

/** Credential metadata without the master key; empty when there is no vault yet. */
export async function readCredentialMetadata(dataDir: string): Promise<CredentialInfo[]> {
  return (await inspectVault(dataDir)).credentials;
}

/**
 * The warnings `wirken run` and `wirken doctor` print: credentials expired, expiring, or due
 * for rotation within `withinDays` (default 14). Needs no master key.
 */
export async function vaultWarnings(
  dataDir: string,
  options: { now?: Date; withinDays?: number } = {},
): Promise<CredentialWarning[]> {
  return credentialWarnings(await readCredentialMetadata(dataDir), options);
}
