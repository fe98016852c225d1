import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
} from "../../../tests/assert.ts";
import { FAST_SCRYPT, mapEnv, tempDir, testVaultOptions } from "../../../tests/vault/helpers.ts";
import { Secret } from "../../secret.ts";
import { VaultKeyError, WrongPassphraseError } from "../errors.ts";
import { defaultPassphraseSource, describeKeychain, openVault } from "../open.ts";
import { createPassphraseBackend, DEFAULT_SCRYPT, derive, keyFilePath } from "./passphrase.ts";
import type { BackendContext } from "./backend.ts";

function ctx(dir: string, passphrase: string | null): BackendContext {
  return {
    vaultId: "cd".repeat(16),
    dataDir: dir,
    env: mapEnv({}),
    passphrase: { get: () => Promise.resolve(passphrase ? new Secret(passphrase) : null) },
  };
}

Deno.test("passphrase file: params and salt stored with it, 0600, never the plain key", async () => {
  const t = await tempDir();
  try {
    const b = createPassphraseBackend(ctx(t.path, "a long passphrase"), { scrypt: FAST_SCRYPT });
    const key = crypto.getRandomValues(new Uint8Array(32));
    await b.storeMasterKey(key);
    const path = keyFilePath(t.path);
    const file = JSON.parse(await Deno.readTextFile(path));
    assertEquals(file.kdf.name, "scrypt");
    assertEquals([file.kdf.N, file.kdf.r, file.kdf.p], [
      FAST_SCRYPT.N,
      FAST_SCRYPT.r,
      FAST_SCRYPT.p,
    ]);
    assert(file.kdf.salt.length > 0);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const raw = await Deno.readTextFile(path);
    const b64 = btoa(String.fromCharCode(...key));
    assertFalse(raw.includes(b64), "plain key in the key file");
    // A fresh backend (new process) with default (higher) params still reads the file's own.
    const again = createPassphraseBackend(ctx(t.path, "a long passphrase"));
    assertEquals(await again.loadMasterKey(), key);
  } finally {
    await t.cleanup();
  }
});

Deno.test("passphrase file: wrong passphrase, modified file, absurd params, short and missing passphrase", async () => {
  const t = await tempDir();
  try {
    const good = createPassphraseBackend(ctx(t.path, "a long passphrase"), { scrypt: FAST_SCRYPT });
    await good.storeMasterKey(crypto.getRandomValues(new Uint8Array(32)));
    const wrong = createPassphraseBackend(ctx(t.path, "another passphrase"));
    const e = await assertRejects(() => wrong.loadMasterKey(), WrongPassphraseError);
    assertStringIncludes(e.message, "vault.key");
    const path = keyFilePath(t.path);
    const file = JSON.parse(await Deno.readTextFile(path));
    const fresh = () => createPassphraseBackend(ctx(t.path, "a long passphrase"));
    // A modified ciphertext is refused, never returned.
    const ct = atob(file.ciphertext);
    const flipped = String.fromCharCode(ct.charCodeAt(0) ^ 1) + ct.slice(1);
    await Deno.writeTextFile(path, JSON.stringify({ ...file, ciphertext: btoa(flipped) }));
    await assertRejects(() => fresh().loadMasterKey(), WrongPassphraseError);
    // Params that would eat all memory are refused before any derivation.
    await Deno.writeTextFile(path, JSON.stringify({ ...file, kdf: { ...file.kdf, N: 2 ** 30 } }));
    await assertRejects(() => fresh().loadMasterKey(), VaultKeyError, "damaged");
    await Deno.writeTextFile(path, "{not json");
    await assertRejects(() => fresh().loadMasterKey(), VaultKeyError, "not JSON");
    // New files need a real passphrase, and some passphrase at all.
    const other = await tempDir();
    await assertRejects(
      () => createPassphraseBackend(ctx(other.path, "short")).storeMasterKey(new Uint8Array(32)),
      VaultKeyError,
      "at least",
    );
    await assertRejects(
      () => createPassphraseBackend(ctx(other.path, null)).storeMasterKey(new Uint8Array(32)),
      VaultKeyError,
      "needs a passphrase",
    );
    await other.cleanup();
  } finally {
    await t.cleanup();
  }
});

Deno.test("passphrase source: env first, nothing without a terminal", async () => {
  assertEquals(
    (await defaultPassphraseSource(mapEnv({ WIRKEN_VAULT_PASSPHRASE: "from env" })).get("unlock"))
      ?.reveal(),
    "from env",
  );
  assertEquals(await defaultPassphraseSource(mapEnv({}), false).get("unlock"), null);
});

Deno.test("describeKeychain: no vault, working key, wrong passphrase, unchecked passphrase", async () => {
  const t = await tempDir();
  try {
    const backends = testVaultOptions(t.path).backends;
    const none = await describeKeychain({
      dataDir: t.path,
      env: mapEnv({ WIRKEN_VAULT_BACKEND: "passphrase" }),
      backends,
    });
    assertEquals([none.backend, none.vaultExists], ["passphrase", false]);
    const v = await openVault(testVaultOptions(t.path));
    v.set("a", new Secret("1"));
    v.close();
    const ok = await describeKeychain({ ...testVaultOptions(t.path), backend: undefined });
    assertEquals([ok.backend, ok.ok, ok.vaultExists], ["passphrase", true, true]);
    assertStringIncludes(ok.detail, "opens the vault");
    const bad = await describeKeychain({
      ...testVaultOptions(t.path, "wrong one!"),
      backend: undefined,
    });
    assertEquals(bad.ok, false);
    assertStringIncludes(bad.detail, "passphrase");
    const unchecked = await describeKeychain({ dataDir: t.path, env: mapEnv({}), backends });
    assertEquals(unchecked.ok, true);
    assertStringIncludes(unchecked.detail, "not checked");
  } finally {
    await t.cleanup();
  }
});

Deno.test("passphrase file: a new vault never overwrites another vault's key file", async () => {
  const t = await tempDir();
  try {
    const v = await openVault(testVaultOptions(t.path));
    v.set("a", new Secret("1"));
    v.close();
    const original = await Deno.readTextFile(keyFilePath(t.path));
    // vault.db is lost; a new vault is created in the same directory.
    for (const f of ["vault.db", "vault.db-wal", "vault.db-shm"]) {
      await Deno.remove(`${t.path}/${f}`).catch(() => {});
    }
    const w = await openVault(testVaultOptions(t.path));
    w.close();
    const names = (await Array.fromAsync(Deno.readDir(t.path))).map((e) => e.name);
    const orphan = names.find((n) => n.endsWith(".orphan"));
    assert(orphan, `old key file kept aside: ${names}`);
    assertEquals(await Deno.readTextFile(`${t.path}/${orphan}`), original);
  } finally {
    await t.cleanup();
  }
});

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("passphrase file: the KDF is scrypt exactly (RFC 7914 vectors), so older key files open", async () => {
  // The first 32 bytes of the RFC's 64-byte outputs (PBKDF2 output blocks are independent).
  assertEquals(
    hex(await derive("password", new TextEncoder().encode("NaCl"), { N: 1024, r: 8, p: 16 })),
    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162",
  );
  assertEquals(
    hex(
      await derive("pleaseletmein", new TextEncoder().encode("SodiumChloride"), {
        N: 16384,
        r: 8,
        p: 1,
      }),
    ),
    "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2",
  );
  // Composed and decomposed forms of one passphrase are the same passphrase.
  const salt = new Uint8Array(16);
  assertEquals(
    hex(await derive("caf\u00e9 au lait", salt, FAST_SCRYPT)),
    hex(await derive("cafe\u0301 au lait", salt, FAST_SCRYPT)),
  );
  // The default cost runs (its memory need is above Node's default scrypt ceiling).
  assertEquals((await derive("x", salt, DEFAULT_SCRYPT)).length, 32);
});
