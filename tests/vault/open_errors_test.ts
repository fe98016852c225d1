/**
 * Opening a vault the wrong way: no vault yet, an unknown or broken backend, a backend other
 * than the one holding the key, a tampered backend name in vault.db, and expired credentials
 * read through the enforcing wrapper. Each must refuse with an error that says what to do,
 * never fall back to another key store or hand out the value.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { enforcingExpiry } from "../../src/vault/expiry.ts";
import { CredentialExpiredError, VaultError, VaultKeyError } from "../../src/vault/errors.ts";
import type { KeychainBackend } from "../../src/vault/keychain/backend.ts";
import {
  DEFAULT_BACKENDS,
  newPassphraseSource,
  openVault,
  rekeyTarget,
} from "../../src/vault/open.ts";
import type { CredentialInfo, CredentialStore } from "../../src/vault/types.ts";
import { mapEnv, tempDir, testVaultOptions } from "./helpers.ts";

function brokenBackend(id: string, detail: string): KeychainBackend {
  return {
    id,
    label: `broken ${id}`,
    available: () => Promise.resolve(false),
    status: () => Promise.resolve({ ok: false, detail }),
    loadMasterKey: () => Promise.resolve(null),
    storeMasterKey: () => Promise.reject(new Error("must not be called")),
    deleteMasterKey: () => Promise.resolve(),
  };
}

Deno.test("vault: opening without create where there is no vault says how to make one", async () => {
  const t = await tempDir();
  try {
    const e = await assertRejects(
      () => openVault({ ...testVaultOptions(join(t.path, "data")), create: false }),
      VaultError,
      "There is no vault",
    );
    assert(e.fix?.includes("wirken credentials add"));
  } finally {
    await t.cleanup();
  }
});

Deno.test("vault: an unknown backend name is a usage error listing the real ones", async () => {
  const t = await tempDir();
  try {
    const e = await assertRejects(
      () =>
        openVault({
          dataDir: join(t.path, "data"),
          env: mapEnv({ WIRKEN_VAULT_BACKEND: "plaintext", WIRKEN_VAULT_PASSPHRASE: "x" }),
        }),
      VaultError,
      'Unknown vault backend "plaintext"',
    );
    assertEquals(e.exitCode, 2);
    assert(e.fix?.includes("passphrase"));
  } finally {
    await t.cleanup();
  }
});

Deno.test("vault: a forced backend that cannot work is refused, not replaced by another", async () => {
  const t = await tempDir();
  try {
    const data = join(t.path, "data");
    await assertRejects(
      () =>
        openVault({
          dataDir: data,
          env: mapEnv({ WIRKEN_VAULT_PASSPHRASE: "would work" }),
          backend: () => brokenBackend("libsecret", "no D-Bus session"),
        }),
      VaultKeyError,
      "cannot be used: no D-Bus session",
    );
    // Nothing was created with a fallback key.
    const reopen = await assertRejects(
      () => openVault({ ...testVaultOptions(data), create: false }),
      VaultError,
    );
    assert(reopen.message.includes("There is no vault"), reopen.message);
  } finally {
    await t.cleanup();
  }
});

Deno.test("vault: a vault keyed in one backend is not opened through another", async () => {
  const t = await tempDir();
  try {
    const data = join(t.path, "data");
    const v = await openVault(testVaultOptions(data));
    v.set("provider.openai.api_key", new Secret("sk-held"));
    v.close();
    await assertRejects(
      () =>
        openVault({ ...testVaultOptions(data), backend: () => brokenBackend("libsecret", "-") }),
      VaultKeyError,
      `This vault's key is in "passphrase", not "libsecret"`,
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("vault: a tampered backend name in vault.db is refused, the key is not looked up elsewhere", async () => {
  const t = await tempDir();
  try {
    const data = join(t.path, "data");
    const v = await openVault(testVaultOptions(data));
    v.set("provider.openai.api_key", new Secret("sk-held"));
    v.close();
    const db = new DatabaseSync(join(data, "vault.db"));
    db.prepare("UPDATE vault_meta SET value = ? WHERE key = 'backend'").run("attacker-store");
    db.close();
    const options = testVaultOptions(data);
    await assertRejects(
      () => openVault({ ...options, backend: undefined }),
      VaultKeyError,
      'vault.db names an unknown key backend "attacker-store"',
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("expiry: an expired credential is refused at read; live ones and other methods pass", () => {
  const values = new Map([["old", "v-old"], ["live", "v-live"], ["forever", "v-forever"]]);
  const now = new Date("2026-06-01T00:00:00Z");
  const infos: CredentialInfo[] = [
    { name: "old", createdAt: now, updatedAt: now, expiresAt: new Date("2026-06-01T00:00:00Z") },
    { name: "live", createdAt: now, updatedAt: now, expiresAt: new Date("2026-06-01T00:00:01Z") },
    { name: "forever", createdAt: now, updatedAt: now, expiresAt: null },
  ];
  const base = {
    get: (n: string) => (values.has(n) ? new Secret(values.get(n)!) : undefined),
    set: (n: string, v: Secret) => void values.set(n, v.reveal()),
    remove: (n: string) => values.delete(n),
    list: () => infos,
  };
  // One store with the fast `info` lookup, one with only `list`.
  const stores: CredentialStore[] = [
    base,
    { ...base, info: (n: string) => infos.find((i) => i.name === n) },
  ];
  for (const store of stores) {
    const guarded = enforcingExpiry(store, () => now);
    const e = assertThrows(() => guarded.get("old"), CredentialExpiredError, "expired on");
    assertEquals(e.credential, "old");
    assert(e.fix?.includes("wirken credentials rotate old"));
    assertEquals(guarded.get("live")?.reveal(), "v-live");
    assertEquals(guarded.get("forever")?.reveal(), "v-forever");
    assertEquals(guarded.get("missing"), undefined);
    assertEquals(guarded.list().length, 3);
    assertEquals(guarded.remove("forever"), true);
    values.set("forever", "v-forever");
  }
});

Deno.test("rekey target: a new passphrase comes from WIRKEN_VAULT_NEW_PASSPHRASE, never the old one", async () => {
  const fallbackCalls: string[] = [];
  const fallback = {
    get: (mode: "create" | "unlock") => {
      fallbackCalls.push(mode);
      return Promise.resolve(new Secret("from-fallback"));
    },
  };
  const src = newPassphraseSource(
    mapEnv({ WIRKEN_VAULT_PASSPHRASE: "old", WIRKEN_VAULT_NEW_PASSPHRASE: "new" }),
    fallback,
  );
  assertEquals((await src.get("create"))?.reveal(), "new");
  assertEquals((await src.get("create"))?.reveal(), "new");
  assertEquals(fallbackCalls, []);
  // Without it, and with no terminal (tests run without one), the caller's source answers once.
  if (!Deno.stdin.isTerminal()) {
    const src2 = newPassphraseSource(mapEnv({ WIRKEN_VAULT_PASSPHRASE: "old" }), fallback);
    assertEquals((await src2.get("create"))?.reveal(), "from-fallback");
    assertEquals((await src2.get("create"))?.reveal(), "from-fallback");
    assertEquals(fallbackCalls, ["create"]);
  }
  assertEquals(rekeyTarget("libsecret", mapEnv()), DEFAULT_BACKENDS.libsecret);
  assertEquals(rekeyTarget("macos-keychain", mapEnv()), DEFAULT_BACKENDS["macos-keychain"]);
  const t = await tempDir();
  try {
    const b = rekeyTarget("passphrase", mapEnv({ WIRKEN_VAULT_NEW_PASSPHRASE: "n" }))({
      vaultId: "v",
      dataDir: t.path,
      env: mapEnv(),
      passphrase: fallback,
    });
    assertEquals(b.id, "passphrase");
  } finally {
    await t.cleanup();
  }
});
