/**
 * Runs INSIDE a private `dbus-run-session` with an unlocked gnome-keyring (started by
 * libsecret_test.ts): exercises the real libsecret backend end to end. Exits non-zero on failure.
 *
 * @module
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { VaultKeyError } from "../../src/vault/errors.ts";
import { KEYCHAIN_SERVICE } from "../../src/vault/keychain/backend.ts";
import { createLibsecretBackend } from "../../src/vault/keychain/libsecret.ts";
import { describeKeychain, openVault } from "../../src/vault/open.ts";
import { mapEnv } from "./helpers.ts";

const dataDir = Deno.env.get("WIRKEN_DATA_DIR")!;
// No passphrase in this env: the vault must not fall back to a key file.
const options = { dataDir, env: mapEnv({}) };

async function secretTool(...args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("secret-tool", { args, stdout: "piped", stderr: "piped" })
    .output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) };
}

// 1. Auto-selection picks the Secret Service when it answers.
const v = await openVault(options);
assertEquals(v.backendId, "libsecret");
v.set("provider.openai.api_key", new Secret("sk-libsecret-test"));
v.set("channel.telegram.token", new Secret("123:abc"));
const vaultId = v.vaultId;
v.close();
say("created");

// 2. The key is really in the keyring, as base64 of 32 bytes, under this vault's id.
const item = await secretTool(
  "lookup",
  "service",
  KEYCHAIN_SERVICE,
  "vault",
  vaultId,
  "slot",
  "current",
);
assertEquals(item.code, 0);
assertEquals(atob(item.out.trim()).length, 32);
assert(!(await Array.fromAsync(Deno.readDir(dataDir))).some((e) => e.name.startsWith("vault.key")));
say("key in keyring");

// 3. Reopen reads it back; doctor's report says it works.
const w = await openVault(options);
assertEquals(w.get("provider.openai.api_key")?.reveal(), "sk-libsecret-test");
w.close();
const report = await describeKeychain(options);
assertEquals([report.backend, report.ok, report.vaultExists], ["libsecret", true, true]);
say(`doctor: ${report.detail}`);

// 4. Rekey; then a rekey "crashing" right after its commit: the next open promotes `next`.
const x = await openVault(options);
await x.rekey();
await x.rekey({
  onStep: (s) => {
    if (s === "committed") throw new Error("simulated crash after commit");
  },
}).catch(() => {});
x.close();
const pending = await secretTool(
  "lookup",
  "service",
  KEYCHAIN_SERVICE,
  "vault",
  vaultId,
  "slot",
  "next",
);
assertEquals(pending.code, 0, "next slot holds the new key after the simulated crash");
const y = await openVault(options);
assertEquals(y.get("channel.telegram.token")?.reveal(), "123:abc");
y.close();
const cleared = await secretTool(
  "lookup",
  "service",
  KEYCHAIN_SERVICE,
  "vault",
  vaultId,
  "slot",
  "next",
);
assertEquals(cleared.code, 1, "next slot removed after promotion");
say("rekey and recovery");

// 5. A wrong key in the keyring is refused clearly; a missing one too.
const backend = createLibsecretBackend({
  vaultId,
  dataDir,
  env: mapEnv({}),
  passphrase: { get: () => Promise.resolve(null) },
});
await backend.storeMasterKey(crypto.getRandomValues(new Uint8Array(32)), "current");
await assertRejects(() => openVault(options), VaultKeyError, "does not open this vault");
await backend.deleteMasterKey("current");
await assertRejects(() => openVault(options), VaultKeyError, "No master key");
say("wrong and missing key refused");
say("LIBSECRET OK");

function say(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}
