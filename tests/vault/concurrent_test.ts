/**
 * Two writer processes at once, both on a vault that does not exist yet (so they also race to
 * create it and its master key) and then on the existing one.
 */
import { assert, assertEquals } from "../assert.ts";
import { openVault } from "../../src/vault/open.ts";
import { startWorker } from "./child.ts";
import { tempDir, testVaultOptions } from "./helpers.ts";

const COUNT = 150;

async function runPair(dir: string): Promise<void> {
  const a = startWorker(dir, "write-many", "alpha", String(COUNT));
  const b = startWorker(dir, "write-many", "beta", String(COUNT));
  const [ra, rb] = await Promise.all([a.done(), b.done()]);
  assertEquals(ra.code, 0, `alpha failed: ${ra.stderr}`);
  assertEquals(rb.code, 0, `beta failed: ${rb.stderr}`);
  assertEquals(a.lines.at(-1), "done");
  assertEquals(b.lines.at(-1), "done");
}

async function assertBoth(dir: string): Promise<void> {
  const v = await openVault(testVaultOptions(dir));
  try {
    assertEquals(v.verify(), { checked: 2 * COUNT + 1, problems: [] });
    for (const p of ["alpha", "beta"]) {
      for (let i = 0; i < COUNT; i++) assertEquals(v.get(`${p}.${i}`)?.reveal(), `${p}-value-${i}`);
    }
    const shared = v.get("shared")?.reveal();
    assert(
      shared === `alpha-shared-${COUNT - 1}` || shared === `beta-shared-${COUNT - 1}`,
      `shared holds the last write of one writer, got ${shared}`,
    );
  } finally {
    v.close();
  }
}

Deno.test("concurrency: two processes create and fill one vault at the same time", async () => {
  const t = await tempDir();
  try {
    await runPair(t.path);
    await assertBoth(t.path);
    // And again on the existing vault.
    await runPair(t.path);
    await assertBoth(t.path);
  } finally {
    await t.cleanup();
  }
});
