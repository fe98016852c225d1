/**
 * The Secret Service backend when `secret-tool` is missing, hangs on a locked keyring, refuses a
 * write, or hands back a damaged item: each must fail with a message that names the cause and
 * the way out, and must never leave a vault behind whose key was not stored. A scripted fake
 * `secret-tool` plays the tool (the real one runs in tests/vault/libsecret_test.ts).
 */
import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
} from "../../../tests/assert.ts";
import { wirken } from "../../../tests/cli/helpers.ts";
import { mapEnv, tempDir } from "../../../tests/vault/helpers.ts";
import { Secret } from "../../secret.ts";
import { VaultKeyError } from "../errors.ts";
import { toBase64 } from "../crypto.ts";
import { inspectVault, openVault } from "../open.ts";
import type { BackendContext } from "./backend.ts";
import { createLibsecretBackend } from "./libsecret.ts";

/**
 * Writes a fake `secret-tool` into `dir`: `probe` answers the status lookup, `lookup`, `store`
 * and `clear` are shell snippets for the three calls. Every call's argv is logged.
 */
async function fakeSecretTool(
  dir: string,
  script: { probe?: string; lookup?: string; store?: string; clear?: string },
): Promise<string> {
  const path = `${dir}/secret-tool`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
PATH=/usr/bin:/bin
echo "$@" >> "${dir}/argv.log"
case "$1" in
  lookup) if [ "$3" = wirken-vault-probe ]; then ${script.probe ?? "exit 1"}; fi; ${
      script.lookup ?? "exit 1"
    } ;;
  store) ${script.store ?? "cat > /dev/null"} ;;
  clear) ${script.clear ?? "exit 1"} ;;
  *) echo "unexpected $1" >&2; exit 2 ;;
esac
`,
  );
  await Deno.chmod(path, 0o700);
  return path;
}

function ctx(dataDir: string): BackendContext {
  return {
    vaultId: "cd".repeat(16),
    dataDir,
    env: mapEnv({}),
    passphrase: { get: () => Promise.resolve(null) },
  };
}

const linuxOnly = Deno.build.os !== "linux";

Deno.test({
  name: "libsecret: secret-tool not installed: status says what to install; reads refuse",
  ignore: linuxOnly,
  async fn() {
    const t = await tempDir();
    try {
      const b = createLibsecretBackend(ctx(t.path), { program: `${t.path}/no-such-secret-tool` });
      assertEquals(await b.status(), {
        ok: false,
        detail: "secret-tool is not installed (apt install libsecret-tools)",
      });
      assertFalse(await b.available());
      const e = await assertRejects(
        () => b.loadMasterKey("current"),
        VaultKeyError,
        "secret-tool could not read the vault key: secret-tool is not installed",
      );
      assertStringIncludes(e.fix ?? "", "WIRKEN_VAULT_BACKEND=passphrase");
      await assertRejects(() => b.storeMasterKey(new Uint8Array(32)), VaultKeyError, "not found");
      await assertRejects(() => b.deleteMasterKey("next"), VaultKeyError, "could not delete");
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "libsecret: a locked keyring that never answers times out with a hint instead of hanging",
  ignore: linuxOnly,
  async fn() {
    const t = await tempDir();
    try {
      // `exec` so the killed process is the one holding the pipes.
      const program = await fakeSecretTool(t.path, {
        probe: "exec sleep 60",
        lookup: "exec sleep 60",
        store: "exec sleep 60",
        clear: "exec sleep 60",
      });
      const b = createLibsecretBackend(ctx(t.path), { program, timeoutMs: 300 });
      assertEquals(await b.status(), {
        ok: false,
        detail: "the Secret Service did not answer within 5 s",
      });
      const e = await assertRejects(
        () => b.loadMasterKey("current"),
        VaultKeyError,
        "(timed out: is the keyring locked?)",
      );
      assertStringIncludes(e.fix ?? "", "Unlock your keyring");
      await assertRejects(() => b.storeMasterKey(new Uint8Array(32)), VaultKeyError, "timed out");
      await assertRejects(() => b.deleteMasterKey("current"), VaultKeyError, "timed out");
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "libsecret: a write refused by a locked collection creates no vault",
  ignore: linuxOnly,
  async fn() {
    const t = await tempDir();
    try {
      const program = await fakeSecretTool(t.path, {
        store:
          'cat > /dev/null; echo "secret-tool: Cannot create an item in a locked collection" >&2; exit 1',
      });
      const data = `${t.path}/data`;
      const e = await assertRejects(
        () =>
          openVault({
            dataDir: data,
            env: mapEnv({}),
            backend: "libsecret",
            backends: { libsecret: (c) => createLibsecretBackend(c, { program }) },
          }),
        VaultKeyError,
        "secret-tool could not store the vault key: secret-tool: Cannot create an item in a locked collection",
      );
      assertStringIncludes(e.fix ?? "", "Unlock your keyring");
      // Nothing half-made: the next open still sees no vault, so no credential can be written
      // under a key that exists nowhere.
      assertEquals((await inspectVault(data)).exists, false);
      // The key went over stdin only.
      const argv = await Deno.readTextFile(`${t.path}/argv.log`);
      assertStringIncludes(argv, "store --label=wirken vault master key");
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "libsecret: a keyring that accepts the key but does not keep it creates no vault",
  ignore: linuxOnly,
  async fn() {
    const t = await tempDir();
    try {
      // Store "succeeds", lookup finds nothing: e.g. a session-only collection being discarded.
      const program = await fakeSecretTool(t.path, { store: "cat > /dev/null; exit 0" });
      const data = `${t.path}/data`;
      const e = await assertRejects(
        () =>
          openVault({
            dataDir: data,
            env: mapEnv({}),
            backend: "libsecret",
            backends: { libsecret: (c) => createLibsecretBackend(c, { program }) },
          }),
        VaultKeyError,
        "Linux Secret Service (secret-tool) did not return the key just stored.",
      );
      assertStringIncludes(e.fix ?? "", "WIRKEN_VAULT_BACKEND=passphrase");
      assertEquals((await inspectVault(data)).exists, false);
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "libsecret: a lookup error is not mistaken for 'no key yet'; a wrong-size key is refused",
  ignore: linuxOnly,
  async fn() {
    const t = await tempDir();
    try {
      const dir16 = `${t.path}/short`;
      const dirErr = `${t.path}/err`;
      await Deno.mkdir(dir16);
      await Deno.mkdir(dirErr);
      const short = toBase64(new Uint8Array(16).fill(7));
      const shortKey = await fakeSecretTool(dir16, { lookup: `printf %s '${short}'; exit 0` });
      await assertRejects(
        () => createLibsecretBackend(ctx(t.path), { program: shortKey }).loadMasterKey(),
        VaultKeyError,
        "The vault key stored in the Secret Service has 16 bytes, not 32.",
      );
      // An error answer (exit 1 WITH a message) must fail loudly: treating it as "no key" would
      // make wirken create a fresh vault key and orphan the existing credentials.
      const failing = await fakeSecretTool(dirErr, {
        lookup:
          'echo "secret-tool: No such interface org.freedesktop.Secret.Collection" >&2; exit 1',
        clear: 'echo "secret-tool: Cannot delete an item in a locked collection" >&2; exit 1',
      });
      const b = createLibsecretBackend(ctx(t.path), { program: failing });
      await assertRejects(
        () => b.loadMasterKey("next"),
        VaultKeyError,
        "secret-tool could not read the vault key: secret-tool: No such interface",
      );
      await assertRejects(
        () => b.deleteMasterKey("next"),
        VaultKeyError,
        "secret-tool could not delete the vault key: secret-tool: Cannot delete an item",
      );
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "libsecret: a vault whose keyring item was emptied elsewhere does not open",
  ignore: linuxOnly,
  async fn() {
    const t = await tempDir();
    try {
      // A working fake keyring that keeps items as files.
      const items = `${t.path}/items`;
      await Deno.mkdir(items);
      const program = await fakeSecretTool(t.path, {
        lookup: `f="${items}/$5.$7"; [ -f "$f" ] || exit 1; cat "$f"`,
        store: `cat > "${items}/$6.$8"`,
        clear: `rm "${items}/$5.$7" 2>/dev/null || exit 1`,
      });
      const opts = {
        dataDir: `${t.path}/data`,
        env: mapEnv({}),
        backend: "libsecret" as const,
        backends: {
          libsecret: (c: BackendContext) => createLibsecretBackend(c, { program }),
        },
      };
      const v = await openVault(opts);
      v.set("provider.openai.api_key", new Secret("sk-fake-keyring"));
      const id = v.vaultId;
      v.close();
      const w = await openVault(opts);
      assertEquals(w.get("provider.openai.api_key")?.reveal(), "sk-fake-keyring");
      w.close();
      // Someone replaced the item with garbage: refused, not silently replaced by a new key.
      await Deno.writeTextFile(`${items}/${id}.current`, "%%% not base64 %%%");
      await assertRejects(() => openVault(opts), VaultKeyError, "not valid base64");
      // And gone entirely: the vault says the key is missing instead of making a new one.
      await Deno.remove(`${items}/${id}.current`);
      const e = await assertRejects(
        () => openVault(opts),
        VaultKeyError,
        "No master key for this vault was found in Linux Secret Service (secret-tool).",
      );
      assertStringIncludes(e.fix ?? "", "Restore the keychain item");
      assertEquals(
        (await Array.fromAsync(Deno.readDir(items))).length,
        0,
        "no replacement key was stored",
      );
      assert((await inspectVault(opts.dataDir)).exists, "the vault itself is still there");
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "libsecret cli: WIRKEN_VAULT_BACKEND=libsecret without secret-tool tells the user what to install",
  ignore: linuxOnly,
  async fn() {
    const t = await tempDir();
    try {
      const emptyBin = `${t.path}/bin`;
      await Deno.mkdir(emptyBin);
      const data = `${t.path}/data`;
      const r = await wirken(["credentials", "add", "provider.openai.api_key"], {
        dataDir: data,
        env: { PATH: emptyBin, WIRKEN_VAULT_BACKEND: "libsecret" },
        stdin: "sk-never-stored\n",
      });
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(
        r.stderr,
        "The vault backend Linux Secret Service (secret-tool) cannot be used: secret-tool is not installed (apt install libsecret-tools).",
      );
      assertStringIncludes(r.stderr, "WIRKEN_VAULT_BACKEND");
      assertFalse(r.stderr.includes("sk-never-stored"));
      assertEquals((await inspectVault(data)).exists, false);
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "libsecret cli: a locked keyring refusing the write is reported with the unlock hint",
  ignore: linuxOnly,
  async fn() {
    const t = await tempDir();
    try {
      const bin = `${t.path}/bin`;
      await Deno.mkdir(bin);
      await fakeSecretTool(bin, {
        store:
          'cat > /dev/null; echo "secret-tool: Cannot create an item in a locked collection" >&2; exit 1',
      });
      const data = `${t.path}/data`;
      const r = await wirken(["credentials", "add", "provider.openai.api_key"], {
        dataDir: data,
        env: { PATH: bin, WIRKEN_VAULT_BACKEND: "libsecret" },
        stdin: "sk-never-stored\n",
      });
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(
        r.stderr,
        "secret-tool could not store the vault key: secret-tool: Cannot create an item in a locked collection",
      );
      assertStringIncludes(r.stderr, "Unlock your keyring (or start gnome-keyring-daemon)");
      assertEquals((await inspectVault(data)).exists, false);
    } finally {
      await t.cleanup();
    }
  },
});
