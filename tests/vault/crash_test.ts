/**
 * kill -9 during rotate and during rekey, with real child processes: afterwards the vault opens
 * and every credential decrypts to its old or its new value.
 */
import { assert, assertEquals } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { openVault } from "../../src/vault/open.ts";
import type { RekeyStep } from "../../src/vault/store.ts";
import { join } from "node:path";
import { startWorker } from "./child.ts";
import { tempDir, testVaultOptions } from "./helpers.ts";

const N = 200;

async function seed(dir: string): Promise<void> {
  const v = await openVault(testVaultOptions(dir));
  for (let i = 0; i < N; i++) v.set(`cred.${i}`, new Secret(`value-${i}`));
  v.set("rotating", new Secret("value-0"));
  v.close();
}

async function assertIntact(dir: string): Promise<void> {
  const v = await openVault(testVaultOptions(dir));
  try {
    assertEquals(v.verify(), { checked: N + 1, problems: [] });
    for (let i = 0; i < N; i++) assertEquals(v.get(`cred.${i}`)?.reveal(), `value-${i}`);
  } finally {
    v.close();
  }
}

Deno.test("crash: kill -9 during rotate leaves the old or the new value", async () => {
  const t = await tempDir();
  try {
    await seed(t.path);
    for (let round = 0; round < 3; round++) {
      const w = startWorker(t.path, "rotate-loop", "rotating");
      await w.waitFor((l) => l.startsWith("committed "));
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
      await w.kill9();
      const last = Math.max(
        0,
        ...w.lines.filter((l) => l.startsWith("committed ")).map((l) => Number(l.split(" ")[1])),
      );
      const v = await openVault(testVaultOptions(t.path));
      const value = v.get("rotating")?.reveal();
      v.close();
      // The process may die after a commit but before printing it: last or last + 1.
      assert(
        value === `value-${last}` || value === `value-${last + 1}`,
        `round ${round}: got ${value}, last printed commit ${last}`,
      );
      await assertIntact(t.path);
    }
  } finally {
    await t.cleanup();
  }
});

const STEPS: RekeyStep[] = [
  "stored-next",
  "reencrypting",
  "before-commit",
  "committed",
  "stored-current",
];

for (const step of STEPS) {
  Deno.test(`crash: kill -9 during rekey at "${step}" loses nothing`, async () => {
    const t = await tempDir();
    try {
      await seed(t.path);
      const w = startWorker(t.path, "rekey-stop", step);
      await w.waitFor((l) => l === `at ${step}`);
      await w.kill9();
      // The crash happened inside the window: the new key still sits in the `next` slot.
      assert(await exists(join(t.path, "vault.key.next")), "next slot present after the crash");
      await assertIntact(t.path);
      if (step === "committed") {
        // Opening finished the interrupted rekey by promoting the new key.
        assert(!(await exists(join(t.path, "vault.key.next"))), "next slot promoted");
      }
      // The vault keeps working: it can be rekeyed again and written to.
      const v = await openVault(testVaultOptions(t.path));
      await v.rekey();
      v.rotate("rotating", new Secret("value-after"));
      assertEquals(v.get("rotating")?.reveal(), "value-after");
      v.close();
      await assertIntact(t.path);
    } finally {
      await t.cleanup();
    }
  });
}

Deno.test("crash: kill -9 at random moments of repeated rekeys loses nothing", async () => {
  const t = await tempDir();
  try {
    await seed(t.path);
    for (let round = 0; round < 4; round++) {
      const w = startWorker(t.path, "rekey-loop");
      await w.waitFor((l) => l === "open");
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 300));
      await w.kill9();
      await assertIntact(t.path);
    }
  } finally {
    await t.cleanup();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
