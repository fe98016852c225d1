/**
 * Fallback backend: the master key in `vault.key`, encrypted with XChaCha20-Poly1305 under a
 * key derived from a passphrase with scrypt. The KDF parameters and salt are stored in the
 * file, so they can be raised later without breaking old files. There is never a plain key file.
 *
 * The passphrase comes from `WIRKEN_VAULT_PASSPHRASE` or an interactive prompt.
 *
 * @module
 */
import { join } from "node:path";
import { scrypt as nodeScrypt } from "node:crypto";
import { z } from "zod";
import { writeFileAtomic } from "../../config/paths.ts";
import type { Secret } from "../../secret.ts";
import { VaultKeyError, WrongPassphraseError } from "../errors.ts";
import { fromBase64, KEY_BYTES, OpenFailure, openSealed, seal, toBase64, wipe } from "../crypto.ts";
import {
  BACKEND_LABELS,
  type BackendContext,
  type BackendStatus,
  type KeychainBackend,
  type KeySlot,
} from "./backend.ts";

/** scrypt cost parameters. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Defaults for new key files: N=2^17, r=8 (128 MiB, about half a second here). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

/** Shortest passphrase accepted for a new key file. */
export const MIN_PASSPHRASE_LENGTH = 8;

const b64 = z.string().min(1).max(4096);
/** The key file's JSON shape. Bounds on N/r/p stop a crafted file from exhausting memory. */
const KeyFileSchema = z.object({
  format: z.literal("wirken-vault-key"),
  version: z.literal(1),
  vaultId: z.string().regex(/^[0-9a-f]{32}$/),
  kdf: z.object({
    name: z.literal("scrypt"),
    N: z.number().int().min(2 ** 10).max(2 ** 22).refine((n) => (n & (n - 1)) === 0, {
      message: "N must be a power of two",
    }),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
    salt: b64,
  }),
  nonce: b64,
  ciphertext: b64,
});
type KeyFile = z.infer<typeof KeyFileSchema>;

/** Options of {@linkcode createPassphraseBackend}. */
export interface PassphraseOptions {
  /** KDF cost for new files (tests lower it; existing files keep their own). */
  scrypt?: ScryptParams;
}

/** Path of the key file for `slot` in `dataDir`. */
export function keyFilePath(dataDir: string, slot: KeySlot = "current"): string {
  return join(dataDir, slot === "current" ? "vault.key" : "vault.key.next");
}

/** A backend keeping the master key in a passphrase-encrypted file next to vault.db. */
export function createPassphraseBackend(
  ctx: BackendContext,
  options: PassphraseOptions = {},
): KeychainBackend {
  const params = options.scrypt ?? DEFAULT_SCRYPT;
  // One derivation per process: writing reuses the salt and derived key of the last read (or
  // first write), so a rekey costs one scrypt run, not three. Salt reuse with fresh nonces is safe.
  let cached: { salt: Uint8Array; params: ScryptParams; kek: Uint8Array } | null = null;
  const context = `keyfile:${ctx.vaultId}`;

  async function passphrase(mode: "create" | "unlock"): Promise<Secret> {
    const p = await ctx.passphrase.get(mode);
    if (!p) {
      throw new VaultKeyError("The vault key file needs a passphrase and none was given.", {
        fix: "Set WIRKEN_VAULT_PASSPHRASE, or run the command in a terminal to be asked for it.",
      });
    }
    return p;
  }

  return {
    id: "passphrase",
    label: BACKEND_LABELS.passphrase,
    available: () => Promise.resolve(true),
    status(): Promise<BackendStatus> {
      const source = ctx.env.get("WIRKEN_VAULT_PASSPHRASE")
        ? "passphrase from WIRKEN_VAULT_PASSPHRASE"
        : "passphrase asked interactively";
      return Promise.resolve({ ok: true, detail: `${keyFilePath(ctx.dataDir)}; ${source}` });
    },
    async loadMasterKey(slot: KeySlot = "current") {
      const path = keyFilePath(ctx.dataDir, slot);
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return null;
        throw new VaultKeyError(`Cannot read the vault key file ${path}: ${(e as Error).message}`, {
          fix: "Check that the file is yours and readable (wirken doctor).",
          cause: e,
        });
      }
      const file = parseKeyFile(text, path);
      if (file.vaultId !== ctx.vaultId) {
        throw new VaultKeyError(`The key file ${path} belongs to another vault.`, {
          fix: "Put back the vault.key that was created with this vault.db.",
        });
      }
      const salt = fromBase64(file.kdf.salt);
      const fileParams = { N: file.kdf.N, r: file.kdf.r, p: file.kdf.p };
      let kek: Uint8Array;
      if (cached && sameBytes(cached.salt, salt) && sameParams(cached.params, fileParams)) {
        kek = cached.kek;
      } else {
        kek = await derive((await passphrase("unlock")).reveal(), salt, fileParams);
      }
      let key: Uint8Array;
      try {
        key = openSealed(kek, context, {
          nonce: fromBase64(file.nonce),
          ciphertext: fromBase64(file.ciphertext),
        });
      } catch (e) {
        if (e instanceof OpenFailure) throw new WrongPassphraseError(path);
        throw e;
      }
      if (key.length !== KEY_BYTES) {
        throw new VaultKeyError(`The key file ${path} holds a ${key.length}-byte key, not 32.`, {
          fix: "Restore vault.key from a backup.",
        });
      }
      if (cached && cached.kek !== kek) wipe(cached.kek);
      cached = { salt, params: fileParams, kek };
      return key;
    },
    async storeMasterKey(key: Uint8Array, slot: KeySlot = "current") {
      if (!cached) {
        const p = (await passphrase("create")).reveal();
        if (p.length < MIN_PASSPHRASE_LENGTH) {
          throw new VaultKeyError(
            `The vault passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters.`,
            { fix: "Choose a longer passphrase (a few random words work well)." },
          );
        }
        const salt = crypto.getRandomValues(new Uint8Array(16));
        const kek = await derive(p, salt, params);
        // A concurrent first write may have derived meanwhile: one salt for the process, and
        // the losing key is wiped rather than left for the garbage collector.
        if (cached) wipe(kek);
        else cached = { salt, params, kek };
      }
      const sealed = seal(cached.kek, context, key);
      const file: KeyFile = {
        format: "wirken-vault-key",
        version: 1,
        vaultId: ctx.vaultId,
        kdf: { name: "scrypt", ...cached.params, salt: toBase64(cached.salt) },
        nonce: toBase64(sealed.nonce),
        ciphertext: toBase64(sealed.ciphertext),
      };
      const path = keyFilePath(ctx.dataDir, slot);
      await setAsideForeignKeyFile(path, ctx.vaultId);
      // Atomic replace: a crash leaves the old file or the new one, never half of either.
      await writeFileAtomic(path, JSON.stringify(file, null, 2) + "\n");
    },
    async deleteMasterKey(slot: KeySlot = "current") {
      await Deno.remove(keyFilePath(ctx.dataDir, slot)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    },
  };
}

/**
 * A key file of ANOTHER vault (vault.db was deleted or replaced, and a new vault is being
 * created) is renamed, never overwritten: it may be the only key to a backup of the old vault.
 */
async function setAsideForeignKeyFile(path: string, vaultId: string): Promise<void> {
  let other: string | undefined;
  try {
    const raw = JSON.parse(await Deno.readTextFile(path)) as { vaultId?: unknown };
    other = typeof raw.vaultId === "string" ? raw.vaultId : "unknown";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    other = "unreadable";
  }
  if (other === vaultId) return;
  await Deno.rename(path, `${path}.${other}.${Date.now()}.orphan`);
}

/**
 * scrypt with the file's parameters, run by the runtime's native implementation on a worker
 * thread: the same bytes as the pure-JS one (tested against RFC 7914), somewhat faster, and the
 * gateway's event loop keeps loading its other modules meanwhile (it is most of a cold start).
 */
export function derive(passphrase: string, salt: Uint8Array, p: ScryptParams): Promise<Uint8Array> {
  const password = new TextEncoder().encode(passphrase.normalize("NFKC"));
  // scrypt needs 128 * N * r bytes; Node's default ceiling (32 MiB) is below the default cost.
  const maxmem = 256 * p.N * p.r + 2 ** 20;
  return new Promise((resolve, reject) => {
    nodeScrypt(password, salt, 32, { N: p.N, r: p.r, p: p.p, maxmem }, (err, key) => {
      password.fill(0);
      if (err) reject(err);
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}

function parseKeyFile(text: string, path: string): KeyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw badFile(path, "it is not JSON");
  }
  const parsed = KeyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badFile(path, `${issue?.path.join(".") || "file"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

function badFile(path: string, why: string): VaultKeyError {
  return new VaultKeyError(`The vault key file ${path} is damaged (${why}).`, {
    fix: "Restore vault.key from a backup; without it the vault cannot be opened.",
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameParams(a: ScryptParams, b: ScryptParams): boolean {
  return a.N === b.N && a.r === b.r && a.p === b.p;
}
