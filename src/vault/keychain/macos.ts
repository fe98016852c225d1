/**
 * macOS Keychain backend through `/usr/bin/security`. Writes go through `security -i`, which
 * reads its command from stdin, so the key never appears in argv (visible in `ps`).
 *
 * @module
 */
import { VaultKeyError } from "../errors.ts";
import { toBase64 } from "../crypto.ts";
import {
  BACKEND_LABELS,
  type BackendContext,
  type BackendStatus,
  KEYCHAIN_SERVICE,
  type KeychainBackend,
  type KeySlot,
} from "./backend.ts";
import { decodeKey } from "./libsecret.ts";
import { runHelper } from "./run.ts";

/** `security`'s exit status for "the specified item could not be found". */
const ITEM_NOT_FOUND = 44;

/** Options of {@linkcode createMacosBackend} (tests point `program` at a fake). */
export interface MacosOptions {
  program?: string;
  timeoutMs?: number;
  /** Treat the platform as macOS (tests on Linux with a fake `security`). */
  assumeMacos?: boolean;
}

/** A backend storing the master key as a generic password in the login keychain. */
export function createMacosBackend(
  ctx: BackendContext,
  options: MacosOptions = {},
): KeychainBackend {
  const program = options.program ?? "/usr/bin/security";
  const timeoutMs = options.timeoutMs ?? 10_000;
  const account = (slot: KeySlot) => `${ctx.vaultId}.${slot}`;
  const fail = (what: string, stderr: string, timedOut: boolean) =>
    new VaultKeyError(
      `The macOS Keychain could not ${what} the vault key${timedOut ? " (timed out)" : ""}: ${
        stderr.trim() || "no message"
      }`,
      {
        fix:
          "Unlock the login keychain (security unlock-keychain), or use the passphrase backend: WIRKEN_VAULT_BACKEND=passphrase.",
      },
    );

  async function status(): Promise<BackendStatus> {
    if (Deno.build.os !== "darwin" && !options.assumeMacos) {
      return { ok: false, detail: `not on macOS (${Deno.build.os})` };
    }
    const r = await runHelper(program, ["show-keychain-info"], { timeoutMs: 5_000 });
    if (r.missing) return { ok: false, detail: `${program} not found` };
    if (r.code !== 0 || r.timedOut) {
      return { ok: false, detail: `default keychain unusable: ${r.stderr.trim() || "no message"}` };
    }
    return { ok: true, detail: "login keychain unlocked" };
  }

  return {
    id: "macos-keychain",
    label: BACKEND_LABELS["macos-keychain"],
    status,
    available: async () => (await status()).ok,
    async loadMasterKey(slot: KeySlot = "current") {
      const r = await runHelper(
        program,
        ["find-generic-password", "-s", KEYCHAIN_SERVICE, "-a", account(slot), "-w"],
        { timeoutMs },
      );
      if (r.code === ITEM_NOT_FOUND) return null;
      if (r.code !== 0 || r.timedOut || r.missing) throw fail("read", r.stderr, r.timedOut);
      return decodeKey(r.stdout, "the macOS Keychain");
    },
    async storeMasterKey(key: Uint8Array, slot: KeySlot = "current") {
      // Base64 and the hex vault id contain no spaces or quotes, so the line needs no escaping.
      const line = `add-generic-password -U -s ${KEYCHAIN_SERVICE} -a ${
        account(slot)
      } -l wirken-vault-key -w ${toBase64(key)}\n`;
      const r = await runHelper(program, ["-i"], { stdin: line, timeoutMs });
      // `security -i` may exit 0 even when the command inside failed; any stderr is a failure.
      if (r.code !== 0 || r.timedOut || r.missing || r.stderr.trim() !== "") {
        throw fail("store", r.stderr, r.timedOut);
      }
    },
    async deleteMasterKey(slot: KeySlot = "current") {
      const r = await runHelper(
        program,
        ["delete-generic-password", "-s", KEYCHAIN_SERVICE, "-a", account(slot)],
        { timeoutMs },
      );
      if (r.code !== 0 && r.code !== ITEM_NOT_FOUND) throw fail("delete", r.stderr, r.timedOut);
    },
  };
}
