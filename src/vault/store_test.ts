import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { tempDir, testVaultOptions } from "../../tests/vault/helpers.ts";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Secret } from "../secret.ts";
import {
  CredentialExpiredError,
  CredentialNotFoundError,
  InvalidCredentialNameError,
  VaultError,
  VaultKeyError,
  VaultTamperError,
  WrongPassphraseError,
} from "./errors.ts";
import { requireCredential } from "./expiry.ts";
import { openVault } from "./open.ts";

async function withVault(
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const t = await tempDir();
  try {
    await fn(t.path);
  } finally {
    await t.cleanup();
  }
}

/** Runs `sql` directly on vault.db, as an attacker with file access would. */
function tamper(dir: string, sql: string, ...params: (string | Uint8Array)[]): void {
  const db = new DatabaseSync(join(dir, "vault.db"));
  db.prepare(sql).run(...params);
  db.close();
}

Deno.test("vault: round trip across reopen; list has dates only; remove", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    assertEquals(v.backendId, "passphrase");
    v.set("provider.openai.api_key", new Secret("sk-one"));
    v.add("channel.telegram.token", new Secret("123:abc"));
    v.close();
    const w = await openVault(testVaultOptions(dir));
    assertEquals(w.get("provider.openai.api_key")?.reveal(), "sk-one");
    assertEquals(w.get("channel.telegram.token")?.reveal(), "123:abc");
    assertEquals(w.get("missing"), undefined);
    const list = w.list();
    assertEquals(list.map((c) => c.name), ["channel.telegram.token", "provider.openai.api_key"]);
    assert(list[0].createdAt instanceof Date);
    assertFalse(JSON.stringify(list).includes("sk-one"));
    assert(w.remove("channel.telegram.token"));
    assertFalse(w.remove("channel.telegram.token"));
    assertEquals(w.list().length, 1);
    w.close();
  });
});

Deno.test("vault: add refuses duplicates, rotate needs an existing name, names are checked", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    v.add("a", new Secret("1"));
    assertThrows(() => v.add("a", new Secret("2")), VaultError, "already exists");
    assertThrows(() => v.rotate("b", new Secret("2")), CredentialNotFoundError);
    assertThrows(() => v.set("bad name", new Secret("x")), InvalidCredentialNameError);
    assertThrows(() => v.set("../x", new Secret("x")), InvalidCredentialNameError);
    const created = v.info("a")!.createdAt;
    v.rotate("a", new Secret("2"));
    assertEquals(v.get("a")?.reveal(), "2");
    assertEquals(v.info("a")!.createdAt, created);
    v.close();
  });
});

Deno.test("vault: every stored row has its own nonce; values are not in the file in clear", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    v.set("x", new Secret("same-value-canary"));
    v.set("y", new Secret("same-value-canary"));
    v.close();
    const db = new DatabaseSync(join(dir, "vault.db"));
    const rows = db.prepare("SELECT nonce FROM credentials").all() as { nonce: Uint8Array }[];
    db.close();
    assertEquals(rows.length, 2);
    assertFalse(rows[0].nonce.every((b, i) => b === rows[1].nonce[i]));
    for (const f of Deno.readDirSync(dir)) {
      if (!f.isFile) continue;
      const text = new TextDecoder("latin1").decode(Deno.readFileSync(join(dir, f.name)));
      assertFalse(text.includes("same-value-canary"), `${f.name} holds the value in clear`);
    }
  });
});

Deno.test("vault: tampered ciphertext, nonce, renamed row and truncated blob are detected", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    for (const n of ["ct", "nonce", "renamed", "trunc", "short-nonce", "ok"]) {
      v.set(n, new Secret(`value-of-${n}`));
    }
    v.close();
    tamper(
      dir,
      "UPDATE credentials SET ciphertext = CAST(substr(ciphertext,1,3) || X'FF' || substr(ciphertext,5) AS BLOB) WHERE name='ct'",
    );
    tamper(dir, "UPDATE credentials SET nonce = randomblob(24) WHERE name='nonce'");
    tamper(dir, "UPDATE credentials SET name = 'renamed2' WHERE name='renamed'");
    tamper(
      dir,
      "UPDATE credentials SET ciphertext = CAST(substr(ciphertext,1,length(ciphertext)-1) AS BLOB) WHERE name='trunc'",
    );
    tamper(
      dir,
      "UPDATE credentials SET nonce = CAST(substr(nonce,1,12) AS BLOB) WHERE name='short-nonce'",
    );
    const w = await openVault(testVaultOptions(dir));
    for (const n of ["ct", "nonce", "renamed2", "trunc", "short-nonce"]) {
      const e = assertThrows(() => w.get(n), VaultTamperError, n);
      assertEquals(e.credential, n);
      assertStringIncludes(e.fix ?? "", `wirken credentials remove ${n}`);
    }
    assertEquals(w.get("ok")?.reveal(), "value-of-ok");
    const report = w.verify();
    assertEquals(report.checked, 6);
    assertEquals(report.problems.map((p) => p.name).sort(), [
      "ct",
      "nonce",
      "renamed2",
      "short-nonce",
      "trunc",
    ]);
    // A tampered vault is never rekeyed (that would launder the damage).
    await assertRejects(() => w.rekey(), VaultTamperError);
    assertEquals(w.get("ok")?.reveal(), "value-of-ok");
    w.close();
  });
});

Deno.test("vault: a row copied under another name does not decrypt", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    v.set("provider.openai.api_key", new Secret("secret-openai"));
    v.set("provider.other.api_key", new Secret("secret-other"));
    v.close();
    tamper(
      dir,
      `UPDATE credentials SET (nonce, ciphertext) = (SELECT nonce, ciphertext FROM credentials
         WHERE name='provider.openai.api_key') WHERE name='provider.other.api_key'`,
    );
    const w = await openVault(testVaultOptions(dir));
    assertThrows(() => w.get("provider.other.api_key"), VaultTamperError);
    w.close();
  });
});

Deno.test("vault: a wrong passphrase and a foreign key file are refused clearly", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    v.set("a", new Secret("1"));
    v.close();
    const e = await assertRejects(
      () => openVault(testVaultOptions(dir, "not the passphrase")),
      WrongPassphraseError,
    );
    assertStringIncludes(e.fix ?? "", "WIRKEN_VAULT_PASSPHRASE");
    // Another vault's key file (same passphrase): refused before any decryption.
    const other = await tempDir();
    (await openVault(testVaultOptions(other.path))).close();
    await Deno.copyFile(join(other.path, "vault.key"), join(dir, "vault.key"));
    await assertRejects(() => openVault(testVaultOptions(dir)), VaultKeyError, "another vault");
    await other.cleanup();
  });
});

Deno.test("vault: a wrong master key (key file of the right id, other key) is refused", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    v.set("a", new Secret("1"));
    v.close();
    // Replace the key check with one made by a different key: opening must fail, not misread.
    const { keyCheckEntries, writeMeta, readMeta } = await import("./store.ts");
    const { generateKey } = await import("./crypto.ts");
    const db = new DatabaseSync(join(dir, "vault.db"));
    const id = readMeta(db).vaultId!;
    writeMeta(db, keyCheckEntries(generateKey(), id));
    db.close();
    await assertRejects(() => openVault(testVaultOptions(dir)), VaultKeyError, "does not open");
  });
});

Deno.test("vault: no key file at all is reported, not silently re-created", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    v.set("a", new Secret("1"));
    v.close();
    await Deno.remove(join(dir, "vault.key"));
    await assertRejects(() => openVault(testVaultOptions(dir)), VaultKeyError, "No master key");
  });
});

Deno.test("vault: expiry is enforced by requireCredential, rotation dates move", async () => {
  await withVault(async (dir) => {
    let now = new Date("2026-01-01T00:00:00Z");
    const v = await openVault({ ...testVaultOptions(dir), now: () => now });
    v.set("tok", new Secret("v1"), {
      expiresAt: new Date("2026-02-01T00:00:00Z"),
      rotationPeriodDays: 30,
    });
    assertEquals(v.info("tok")!.rotationDueAt, new Date("2026-01-31T00:00:00Z"));
    assertEquals(requireCredential(v, "tok", now).reveal(), "v1");
    now = new Date("2026-02-02T00:00:00Z");
    const e = assertThrows(() => requireCredential(v, "tok", now), CredentialExpiredError, "tok");
    assertStringIncludes(e.fix ?? "", "wirken credentials rotate tok");
    assertEquals(v.get("tok")?.reveal(), "v1", "get() keeps the CredentialStore contract");
    assertThrows(() => requireCredential(v, "nope", now), CredentialNotFoundError);
    v.rotate("tok", new Secret("v2"), { expiresAt: new Date("2026-06-01T00:00:00Z") });
    const info = v.info("tok")!;
    assertEquals(info.rotationDueAt, new Date("2026-03-04T00:00:00Z"));
    assertEquals(info.rotationPeriodDays, 30);
    assertEquals(requireCredential(v, "tok", now).reveal(), "v2");
    assert(info.lastUsedAt instanceof Date, "reads record last use");
    v.close();
  });
});

Deno.test("vault: rekey re-encrypts everything under a new key and the old key stops working", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    for (let i = 0; i < 20; i++) v.set(`k${i}`, new Secret(`value-${i}`));
    const before = new DatabaseSync(join(dir, "vault.db"));
    const oldRows = before.prepare("SELECT name, nonce, ciphertext FROM credentials").all();
    before.close();
    const steps: string[] = [];
    const r = await v.rekey({ onStep: (s) => void steps.push(s) });
    assertEquals(r, { count: 20, generation: 2 });
    assertEquals(steps, [
      "stored-next",
      "reencrypting",
      "before-commit",
      "committed",
      "stored-current",
      "done",
    ]);
    assertEquals(v.get("k3")?.reveal(), "value-3");
    v.close();
    const after = new DatabaseSync(join(dir, "vault.db"));
    const newRows = after.prepare("SELECT name, nonce, ciphertext FROM credentials").all();
    after.close();
    assertEquals(newRows.length, 20);
    assertFalse(JSON.stringify(newRows) === JSON.stringify(oldRows));
    await Deno.stat(join(dir, "vault.key.next")).then(
      () => assert(false, "next slot must be cleared"),
      () => {},
    );
    const w = await openVault(testVaultOptions(dir));
    for (let i = 0; i < 20; i++) assertEquals(w.get(`k${i}`)?.reveal(), `value-${i}`);
    w.close();
  });
});

Deno.test("vault: a rekey failing before commit changes nothing", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    v.set("a", new Secret("1"));
    await assertRejects(
      () =>
        v.rekey({
          onStep: (s) => {
            if (s === "before-commit") throw new Error("boom");
          },
        }),
      Error,
      "boom",
    );
    assertEquals(v.get("a")?.reveal(), "1");
    v.set("b", new Secret("2"));
    v.close();
    const w = await openVault(testVaultOptions(dir));
    assertEquals(w.get("a")?.reveal(), "1");
    assertEquals(w.get("b")?.reveal(), "2");
    w.close();
  });
});

Deno.test("vault: a handle whose vault was rekeyed elsewhere refuses to write with the old key", async () => {
  await withVault(async (dir) => {
    const a = await openVault(testVaultOptions(dir));
    a.set("x", new Secret("1"));
    const b = await openVault(testVaultOptions(dir));
    await b.rekey();
    assertThrows(() => a.set("y", new Secret("2")), VaultKeyError, "rekeyed by another process");
    assertThrows(() => a.get("x"), VaultKeyError);
    assertEquals(b.get("x")?.reveal(), "1");
    a.close();
    b.close();
  });
});

Deno.test("vault: create: false does not create a vault", async () => {
  await withVault(async (dir) => {
    await assertRejects(
      () => openVault({ ...testVaultOptions(dir), create: false }),
      VaultError,
      "no vault",
    );
  });
});

Deno.test("vault: a write lock held too long by another process is a clear error", async () => {
  await withVault(async (dir) => {
    const v = await openVault(testVaultOptions(dir));
    v.set("a", new Secret("1"));
    const other = new DatabaseSync(join(dir, "vault.db"));
    other.exec("BEGIN IMMEDIATE");
    try {
      // Blocks for SQLite's 5 s busy timeout, then fails with a message, not a raw SQLite error.
      assertThrows(() => v.set("b", new Secret("2")), VaultError, "locked by another wirken");
      assertEquals(v.get("a")?.reveal(), "1", "reads still work under a writer's lock (WAL)");
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    v.set("b", new Secret("2"));
    v.close();
  });
});
