/**
 * The macOS Keychain backend when `security` answers with an error: no default keychain, a
 * locked keychain that refuses user interaction, `security -i` exiting 0 after a failed write,
 * a hang, or no `security` at all. Each must fail with the tool's own words and the unlock hint,
 * and a failed write must leave no vault behind. A scripted fake `security` plays the tool, so
 * this runs on any OS.
 */
import {
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
} from "../../../tests/assert.ts";
import { mapEnv, tempDir } from "../../../tests/vault/helpers.ts";
import { VaultKeyError } from "../errors.ts";
import { inspectVault, openVault } from "../open.ts";
import type { BackendContext } from "./backend.ts";
import { createMacosBackend } from "./macos.ts";

/** Writes a fake `security`; each entry is the shell body for that subcommand. */
async function fakeSecurity(
  dir: string,
  script: { info?: string; find?: string; add?: string; del?: string },
): Promise<string> {
  const path = `${dir}/security`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
PATH=/usr/bin:/bin
case "$1" in
  show-keychain-info) ${script.info ?? "exit 0"} ;;
  find-generic-password) ${
      script.find ??
        'echo "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain." >&2; exit 44'
    } ;;
  -i) ${script.add ?? "cat > /dev/null"} ;;
  delete-generic-password) ${script.del ?? "exit 44"} ;;
  *) echo "unexpected $1" >&2; exit 2 ;;
esac
`,
  );
  await Deno.chmod(path, 0o700);
  return path;
}

function ctx(dataDir: string): BackendContext {
  return {
    vaultId: "ef".repeat(16),
    dataDir,
    env: mapEnv({}),
    passphrase: { get: () => Promise.resolve(null) },
  };
}

const LOCKED =
  'echo "security: SecKeychainSearchCopyNext: User interaction is not allowed." >&2; exit 36';

Deno.test("macos backend: no default keychain makes it unusable, and a new vault says why", async () => {
  const t = await tempDir();
  try {
    const program = await fakeSecurity(t.path, {
      info:
        'echo "security: SecKeychainCopyDefault: A default keychain could not be found." >&2; exit 50',
    });
    const b = createMacosBackend(ctx(t.path), { program, assumeMacos: true });
    assertEquals(await b.status(), {
      ok: false,
      detail:
        "default keychain unusable: security: SecKeychainCopyDefault: A default keychain could not be found.",
    });
    assertFalse(await b.available());
    const data = `${t.path}/data`;
    await assertRejects(
      () =>
        openVault({
          dataDir: data,
          env: mapEnv({}),
          backend: "macos-keychain",
          backends: {
            "macos-keychain": (c) => createMacosBackend(c, { program, assumeMacos: true }),
          },
        }),
      VaultKeyError,
      "The vault backend macOS Keychain (security) cannot be used: default keychain unusable",
    );
    assertEquals((await inspectVault(data)).exists, false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("macos backend: a locked keychain is an error with the unlock hint, not 'no key yet'", async () => {
  const t = await tempDir();
  try {
    const program = await fakeSecurity(t.path, { find: LOCKED, del: LOCKED });
    const b = createMacosBackend(ctx(t.path), { program, assumeMacos: true });
    const e = await assertRejects(
      () => b.loadMasterKey("current"),
      VaultKeyError,
      "The macOS Keychain could not read the vault key: security: SecKeychainSearchCopyNext: User interaction is not allowed.",
    );
    assertStringIncludes(e.fix ?? "", "security unlock-keychain");
    assertStringIncludes(e.fix ?? "", "WIRKEN_VAULT_BACKEND=passphrase");
    await assertRejects(
      () => b.deleteMasterKey("next"),
      VaultKeyError,
      "The macOS Keychain could not delete the vault key: security: SecKeychainSearchCopyNext",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("macos backend: security -i exiting 0 after a failed add is still a failure; no vault is made", async () => {
  const t = await tempDir();
  try {
    // `security -i` reports a failed command on stderr but exits 0.
    const program = await fakeSecurity(t.path, {
      add:
        'cat > /dev/null; echo "SecKeychainItemCreateFromContent (<default>): User interaction is not allowed." >&2; exit 0',
    });
    const data = `${t.path}/data`;
    const e = await assertRejects(
      () =>
        openVault({
          dataDir: data,
          env: mapEnv({}),
          backend: "macos-keychain",
          backends: {
            "macos-keychain": (c) => createMacosBackend(c, { program, assumeMacos: true }),
          },
        }),
      VaultKeyError,
      "The macOS Keychain could not store the vault key: SecKeychainItemCreateFromContent (<default>): User interaction is not allowed.",
    );
    assertStringIncludes(e.fix ?? "", "security unlock-keychain");
    assertEquals((await inspectVault(data)).exists, false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("macos backend: a hanging security is cut off and reported as timed out", async () => {
  const t = await tempDir();
  try {
    const program = await fakeSecurity(t.path, { find: "exec sleep 60" });
    const b = createMacosBackend(ctx(t.path), { program, assumeMacos: true, timeoutMs: 300 });
    await assertRejects(
      () => b.loadMasterKey("current"),
      VaultKeyError,
      "The macOS Keychain could not read the vault key (timed out)",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("macos backend: without the security tool it says so and reads refuse", async () => {
  const t = await tempDir();
  try {
    const program = `${t.path}/no-such-security`;
    const b = createMacosBackend(ctx(t.path), { program, assumeMacos: true });
    assertEquals(await b.status(), { ok: false, detail: `${program} not found` });
    await assertRejects(
      () => b.loadMasterKey("current"),
      VaultKeyError,
      `The macOS Keychain could not read the vault key: ${program} was not found`,
    );
  } finally {
    await t.cleanup();
  }
});
