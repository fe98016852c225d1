/**
 * The libsecret backend against a REAL Secret Service: a private D-Bus session
 * (`dbus-run-session`) with its own gnome-keyring in a temp HOME, so the user's keyring is
 * never touched. Needs `apt-get install libsecret-tools gnome-keyring dbus-x11` (done by
 * `.ci/run`); without them the test is skipped and says so loudly.
 */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { fileURLToPath } from "node:url";
import { describeKeychain } from "../../src/vault/open.ts";
import { createLibsecretBackend } from "../../src/vault/keychain/libsecret.ts";
import { mapEnv, tempDir } from "./helpers.ts";
import { coverageEnv } from "../coverage/env.ts";

const TOOLS = ["secret-tool", "gnome-keyring-daemon", "dbus-run-session"];

function which(tool: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${tool}`).isFile) return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

const missing = Deno.build.os === "linux" ? TOOLS.filter((t) => !which(t)) : ["linux"];
if (missing.length > 0) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      `\n*** SKIPPING the real libsecret vault test: missing ${missing.join(", ")}.\n` +
        "*** Install with: apt-get install -y libsecret-tools gnome-keyring dbus-x11\n\n",
    ),
  );
}

Deno.test({
  name:
    "libsecret: real Secret Service in a private dbus session (store, reopen, rekey, recovery, wrong key)",
  ignore: missing.length > 0,
  async fn() {
    const t = await tempDir();
    try {
      const home = `${t.path}/home`;
      const data = `${t.path}/data`;
      await Deno.mkdir(`${home}/.local/share`, { recursive: true });
      await Deno.mkdir(`${home}/run`, { recursive: true, mode: 0o700 });
      const script = fileURLToPath(new URL("./libsecret_session.ts", import.meta.url));
      const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
      const inner = [
        "printf 'test-keyring-pw' | gnome-keyring-daemon --unlock --components=secrets >/dev/null",
        `exec "${Deno.execPath()}" run -A --config "${config}" "${script}"`,
      ].join(" && ");
      const out = await new Deno.Command("dbus-run-session", {
        args: ["--", "sh", "-c", inner],
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          HOME: home,
          XDG_DATA_HOME: `${home}/.local/share`,
          XDG_RUNTIME_DIR: `${home}/run`,
          WIRKEN_DATA_DIR: data,
          NO_COLOR: "1",
          // Let the child find Deno's cache of npm packages in the real home.
          DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
          ...coverageEnv(),
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, `session failed:\n${stdout}\n${stderr}`);
      assertStringIncludes(stdout, "LIBSECRET OK");
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test("libsecret: without a D-Bus session the backend reports itself unavailable", async () => {
  if (missing.includes("secret-tool")) return;
  const t = await tempDir();
  try {
    // An env with no D-Bus address and no DISPLAY: secret-tool cannot reach any service.
    const backend = createLibsecretBackend(
      {
        vaultId: "0".repeat(32),
        dataDir: t.path,
        env: mapEnv({}),
        passphrase: { get: () => Promise.resolve(null) },
      },
      { program: await fakeNoBus(t.path) },
    );
    const s = await backend.status();
    assertEquals(s.ok, false);
    assertStringIncludes(s.detail, "unreachable");
    // describeKeychain on an empty data dir falls through to the passphrase file.
    const r = await describeKeychain({
      dataDir: t.path,
      env: mapEnv({}),
      backends: {
        libsecret: (ctx) => createLibsecretBackend(ctx, { program: `${t.path}/secret-tool` }),
      },
    });
    if (Deno.build.os === "linux") assertEquals(r.backend, "passphrase");
    assertEquals(r.vaultExists, false);
  } finally {
    await t.cleanup();
  }
});

/** A wrapper running the real secret-tool with the D-Bus variables removed. */
async function fakeNoBus(dir: string): Promise<string> {
  const path = `${dir}/secret-tool`;
  await Deno.writeTextFile(
    path,
    '#!/bin/sh\nexec env -u DBUS_SESSION_BUS_ADDRESS -u DISPLAY secret-tool "$@"\n',
  );
  await Deno.chmod(path, 0o700);
  return path;
}
