import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { VaultError } from "./errors.ts";
import { credentialWarnings, parsePeriodDays, parseWhen } from "./expiry.ts";
import type { CredentialInfo } from "./types.ts";

const NOW = new Date("2026-06-01T00:00:00Z");
const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000);
function info(name: string, extra: Partial<CredentialInfo>): CredentialInfo {
  return { name, createdAt: day(-100), updatedAt: day(-100), expiresAt: null, ...extra };
}

Deno.test("expiry: warnings for expired, expiring within 14 days and rotation due", () => {
  const w = credentialWarnings([
    info("fine", { expiresAt: day(30), rotationDueAt: day(20) }),
    info("gone", { expiresAt: day(-1) }),
    info("soon", { expiresAt: day(5) }),
    info("rot-late", { rotationDueAt: day(-3) }),
    info("rot-soon", { rotationDueAt: day(14) }),
    info("never", {}),
  ], { now: NOW });
  assertEquals(w.map((x) => [x.name, x.kind]), [
    ["rot-late", "rotation-overdue"],
    ["gone", "expired"],
    ["soon", "expires-soon"],
    ["rot-soon", "rotation-due-soon"],
  ]);
  for (const x of w) assertEquals(x.message.includes(`wirken credentials rotate ${x.name}`), true);
  assertEquals(
    credentialWarnings([info("soon", { expiresAt: day(5) })], { now: NOW, withinDays: 3 }),
    [],
  );
});

Deno.test("expiry: parseWhen and parsePeriodDays", () => {
  assertEquals(parseWhen("90d", NOW), day(90));
  assertEquals(parseWhen("2w", NOW), day(14));
  assertEquals(parseWhen("1y", NOW), day(365));
  assertEquals(parseWhen("2026-12-31", NOW), new Date("2026-12-31T00:00:00Z"));
  assertEquals(parseWhen("2026-12-31T10:00:00Z", NOW), new Date("2026-12-31T10:00:00Z"));
  assertEquals(parseWhen("never", NOW), null);
  assertThrows(() => parseWhen("tomorrow", NOW), VaultError, "not a date");
  assertEquals(parsePeriodDays("90d"), 90);
  assertEquals(parsePeriodDays("6m"), 180);
  assertThrows(() => parsePeriodDays("0d"), VaultError);
  assertThrows(() => parsePeriodDays("soon"), VaultError);
});

Deno.test("expiry: vaultWarnings reads dates without the master key", async () => {
  const { tempDir, testVaultOptions } = await import("../../tests/vault/helpers.ts");
  const { openVault, vaultWarnings, readCredentialMetadata } = await import("./open.ts");
  const { Secret } = await import("../secret.ts");
  const t = await tempDir();
  try {
    assertEquals(await vaultWarnings(t.path), []);
    const v = await openVault(testVaultOptions(t.path));
    v.set("soon", new Secret("x"), { expiresAt: new Date(Date.now() + 3 * 86_400_000) });
    v.set("later", new Secret("y"), { expiresAt: new Date(Date.now() + 60 * 86_400_000) });
    v.close();
    // The key file is gone: metadata must still be readable.
    await Deno.remove(`${t.path}/vault.key`);
    assertEquals((await readCredentialMetadata(t.path)).map((c) => c.name), ["later", "soon"]);
    assertEquals((await vaultWarnings(t.path)).map((w) => [w.name, w.kind]), [[
      "soon",
      "expires-soon",
    ]]);
  } finally {
    await t.cleanup();
  }
});
