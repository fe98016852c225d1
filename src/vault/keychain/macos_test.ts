import { assert, assertEquals, assertFalse, assertRejects } from "../../../tests/assert.ts";
import { mapEnv, tempDir } from "../../../tests/vault/helpers.ts";
import { Secret } from "../../secret.ts";
import { VaultKeyError } from "../errors.ts";
import { toBase64 } from "../crypto.ts";
import { openVault } from "../open.ts";
import { createMacosBackend } from "./macos.ts";

/**
 * A stand-in for /usr/bin/security that keeps items as files and logs its argv, so the
 * backend's protocol (and that the key never travels in argv) is checked on any OS.
 */
const FAKE_SECURITY = `#!/bin/sh
dir="$(dirname "$0")/items"
mkdir -p "$dir"
echo "$@" >> "$(dirname "$0")/argv.log"
item() { echo "$dir/$1.$2"; }
case "$1" in
  show-keychain-info) exit 0 ;;
  find-generic-password)
    f=$(item "$3" "$5"); [ -f "$f" ] || { echo "item not found" >&2; exit 44; }; cat "$f"; echo ;;
  delete-generic-password)
    f=$(item "$3" "$5"); [ -f "$f" ] || exit 44; rm "$f" ;;
  -i)
    read -r cmd u s svc a acct l lbl w pw
    [ "$cmd" = add-generic-password ] || { echo "bad command $cmd" >&2; exit 1; }
    printf %s "$pw" > "$(item "$svc" "$acct")" ;;
  *) echo "unexpected $1" >&2; exit 2 ;;
esac
`;

async function fake(dir: string): Promise<string> {
  const path = `${dir}/security`;
  await Deno.writeTextFile(path, FAKE_SECURITY);
  await Deno.chmod(path, 0o700);
  return path;
}

Deno.test("macos backend: store/load/delete through security, key never in argv", async () => {
  const t = await tempDir();
  try {
    const program = await fake(t.path);
    const ctx = {
      vaultId: "ab".repeat(16),
      dataDir: t.path,
      env: mapEnv({}),
      passphrase: { get: () => Promise.resolve(null) },
    };
    const b = createMacosBackend(ctx, { program, assumeMacos: true });
    assert(await b.available());
    assertEquals(await b.loadMasterKey("current"), null);
    const key = crypto.getRandomValues(new Uint8Array(32));
    await b.storeMasterKey(key, "current");
    assertEquals(await b.loadMasterKey("current"), key);
    assertEquals(await b.loadMasterKey("next"), null);
    await b.deleteMasterKey("current");
    await b.deleteMasterKey("current");
    assertEquals(await b.loadMasterKey("current"), null);
    const argv = await Deno.readTextFile(`${t.path}/argv.log`);
    assertFalse(argv.includes(toBase64(key)), "the key must not be passed in argv");
  } finally {
    await t.cleanup();
  }
});

Deno.test("macos backend: a whole vault on it, and a corrupted item is refused", async () => {
  const t = await tempDir();
  try {
    const program = await fake(t.path);
    const data = `${t.path}/data`;
    const opts = {
      dataDir: data,
      env: mapEnv({}),
      backend: "macos-keychain" as const,
      backends: {
        "macos-keychain": (ctx: Parameters<typeof createMacosBackend>[0]) =>
          createMacosBackend(ctx, { program, assumeMacos: true }),
      },
    };
    const v = await openVault(opts);
    assertEquals(v.backendId, "macos-keychain");
    v.set("a", new Secret("1"));
    await v.rekey();
    const id = v.vaultId;
    v.close();
    const w = await openVault({ ...opts, backend: undefined });
    assertEquals(w.get("a")?.reveal(), "1");
    w.close();
    await Deno.writeTextFile(`${t.path}/items/wirken-vault.${id}.current`, "not base64 !!");
    await assertRejects(() => openVault(opts), VaultKeyError, "not valid base64");
  } finally {
    await t.cleanup();
  }
});

Deno.test("macos backend: off macOS it says so", async () => {
  if (Deno.build.os === "darwin") return;
  const b = createMacosBackend({
    vaultId: "0".repeat(32),
    dataDir: "/nonexistent",
    env: mapEnv({}),
    passphrase: { get: () => Promise.resolve(null) },
  });
  assertEquals((await b.status()).ok, false);
});

Deno.test("rekey --backend: move passphrase -> keychain (crash after commit) -> passphrase", async () => {
  const { testVaultOptions } = await import("../../../tests/vault/helpers.ts");
  const t = await tempDir();
  try {
    const program = await fake(t.path);
    const data = `${t.path}/data`;
    const mac = (ctx: Parameters<typeof createMacosBackend>[0]) =>
      createMacosBackend(ctx, { program, assumeMacos: true });
    const base = testVaultOptions(data);
    const opts = {
      ...base,
      backend: undefined,
      backends: { ...base.backends, "macos-keychain": mac },
    };
    const v = await openVault({ ...opts, backend: "passphrase" });
    v.set("a", new Secret("1"));
    // "Crash" right after the commit: the new key is only in the keychain's `next` slot.
    await assertRejects(
      () =>
        v.rekey({
          to: mac,
          onStep: (s) => {
            if (s === "committed") throw new Error("crash");
          },
        }),
      Error,
      "crash",
    );
    v.close();
    const w = await openVault(opts);
    assertEquals(w.backendId, "macos-keychain");
    assertEquals(w.get("a")?.reveal(), "1");
    const items = await Array.fromAsync(Deno.readDir(`${t.path}/items`));
    assertEquals(items.map((i) => i.name.split(".").pop()), ["current"]);
    // And back to the passphrase file, cleanly: the keychain item is removed.
    const { createPassphraseBackend } = await import("./passphrase.ts");
    const { FAST_SCRYPT } = await import("../../../tests/vault/helpers.ts");
    await w.rekey({ to: (ctx) => createPassphraseBackend(ctx, { scrypt: FAST_SCRYPT }) });
    assertEquals(w.backendId, "passphrase");
    w.close();
    assertEquals((await Array.fromAsync(Deno.readDir(`${t.path}/items`))).length, 0);
    const x = await openVault(opts);
    assertEquals([x.backendId, x.get("a")?.reveal()], ["passphrase", "1"]);
    x.close();
  } finally {
    await t.cleanup();
  }
});
