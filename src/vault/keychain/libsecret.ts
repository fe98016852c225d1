/**
 * Linux Secret Service backend (GNOME Keyring, KWallet's bridge, KeePassXC) through libsecret's
 * `secret-tool`. The key is stored as base64 text with attributes
 * `service=wirken-vault vault=<id> slot=<slot>`, fed over stdin.
 *
 * @module
 */
import { VaultKeyError } from "../errors.ts";
import { fromBase64, KEY_BYTES, toBase64 } from "../crypto.ts";
import {
  BACKEND_LABELS,
  type BackendContext,
  type BackendStatus,
  KEYCHAIN_SERVICE,
  type KeychainBackend,
  type KeySlot,
} from "./backend.ts";
import { runHelper } from "./run.ts";

/** Options of {@linkcode createLibsecretBackend} (tests point `program` at a fake). */
export interface LibsecretOptions {
  /** Path or name of `secret-tool`. */
  program?: string;
  /** Per-call timeout; a locked keyring with no one to unlock it must not hang wirken. */
  timeoutMs?: number;
}

/** A backend storing the master key in the Secret Service via `secret-tool`. */
export function createLibsecretBackend(
  ctx: BackendContext,
  options: LibsecretOptions = {},
): KeychainBackend {
  const program = options.program ?? "secret-tool";
  const timeoutMs = options.timeoutMs ?? 10_000;
  const attrs = (
    slot: KeySlot,
  ) => ["service", KEYCHAIN_SERVICE, "vault", ctx.vaultId, "slot", slot];
  const fail = (what: string, stderr: string, timedOut: boolean) =>
    new VaultKeyError(
      `secret-tool could not ${what} the vault key${
        timedOut ? " (timed out: is the keyring locked?)" : ""
      }: ${stderr.trim() || "no message"}`,
      {
        fix:
          "Unlock your keyring (or start gnome-keyring-daemon), or use the passphrase backend: WIRKEN_VAULT_BACKEND=passphrase.",
      },
    );

  async function status(): Promise<BackendStatus> {
    if (Deno.build.os === "darwin" || Deno.build.os === "windows") {
      return { ok: false, detail: `not used on ${Deno.build.os}` };
    }
    // A lookup of an attribute set that never exists: exit 1 with no message means the Secret
    // Service answered; a message means no D-Bus session or no service.
    const r = await runHelper(program, [
      "lookup",
      "service",
      `${KEYCHAIN_SERVICE}-probe`,
      "probe",
      "1",
    ], {
      timeoutMs: Math.min(timeoutMs, 5_000),
    });
    if (r.missing) {
      return { ok: false, detail: "secret-tool is not installed (apt install libsecret-tools)" };
    }
    if (r.timedOut) return { ok: false, detail: "the Secret Service did not answer within 5 s" };
    if (r.code === 0 || (r.code === 1 && r.stderr.trim() === "")) {
      return { ok: true, detail: "Secret Service reachable through secret-tool" };
    }
    return { ok: false, detail: `Secret Service unreachable: ${firstLine(r.stderr)}` };
  }

  return {
    id: "libsecret",
    label: BACKEND_LABELS.libsecret,
    status,
    available: async () => (await status()).ok,
    async loadMasterKey(slot: KeySlot = "current") {
      const r = await runHelper(program, ["lookup", ...attrs(slot)], { timeoutMs });
      if (r.missing) throw fail("read", "secret-tool is not installed", false);
      if (r.code === 1 && r.stderr.trim() === "" && r.stdout === "") return null;
      if (r.code !== 0 || r.timedOut) throw fail("read", r.stderr, r.timedOut);
      return decodeKey(r.stdout, "the Secret Service");
    },
    async storeMasterKey(key: Uint8Array, slot: KeySlot = "current") {
      const r = await runHelper(
        program,
        ["store", `--label=wirken vault master key (${ctx.vaultId} ${slot})`, ...attrs(slot)],
        { stdin: toBase64(key), timeoutMs },
      );
      if (r.code !== 0 || r.timedOut || r.missing) throw fail("store", r.stderr, r.timedOut);
    },
    async deleteMasterKey(slot: KeySlot = "current") {
      const r = await runHelper(program, ["clear", ...attrs(slot)], { timeoutMs });
      // `clear` exits 1 when nothing matched; only a message means a real failure.
      if ((r.code !== 0 && r.stderr.trim() !== "") || r.timedOut || r.missing) {
        throw fail("delete", r.stderr, r.timedOut);
      }
    },
  };
}

/** Decodes a stored base64 key, refusing anything that is not exactly 32 bytes. */
export function decodeKey(text: string, where: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = fromBase64(text);
  } catch {
    throw new VaultKeyError(`The vault key stored in ${where} is not valid base64.`, {
      fix:
        "The keychain item was changed by something else; restore it or the vault cannot be read.",
    });
  }
  if (key.length !== KEY_BYTES) {
    throw new VaultKeyError(`The vault key stored in ${where} has ${key.length} bytes, not 32.`, {
      fix:
        "The keychain item was changed by something else; restore it or the vault cannot be read.",
    });
  }
  return key;
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] || "unknown error";
}
