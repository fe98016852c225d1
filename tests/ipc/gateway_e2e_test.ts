/**
 * `wirken run` end to end with a configured channel: the gateway opens the vault, listens on
 * its socket, the supervisor starts the channel's adapter (re-invoking main.ts with that
 * channel's grants), the adapter authenticates, `wirken status` shows it, the adapter's
 * environment holds no vault passphrase, and SIGTERM leaves no adapter behind.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { generateAdapterKey } from "../../src/ipc/keys.ts";
import { openVault } from "../../src/vault/open.ts";
import { credentialNames } from "../../src/vault/types.ts";
import { Secret } from "../../src/secret.ts";
import { TEST_PASSPHRASE, testVaultOptions } from "../vault/helpers.ts";
import { waitFor } from "./helpers.ts";
import { coverageEnv } from "../coverage/env.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function cat(path: string): string {
  const out = new Deno.Command("cat", { args: [path] }).outputSync();
  return out.success ? new TextDecoder().decode(out.stdout) : "";
}

Deno.test("wirken run starts, authenticates and stops a configured channel's adapter", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirken-e2e-" });
  const data = join(dir, "data");
  await Deno.mkdir(data, { mode: 0o700 });
  // A vault (passphrase backend) holding the Telegram adapter key and a bot token.
  const key = await generateAdapterKey();
  const vault = await openVault(testVaultOptions(data));
  vault.set(credentialNames.adapterKey("telegram"), key.seed);
  vault.set("channel.telegram.token", new Secret("123456:test-bot-token"));
  vault.close();
  await Deno.writeTextFile(
    join(data, "config.json"),
    JSON.stringify({ version: 1, channels: { telegram: { publicKey: key.publicKeyBase64 } } }),
  );
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? dir,
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    WIRKEN_DATA_DIR: data,
    WIRKEN_VAULT_BACKEND: "passphrase",
    WIRKEN_VAULT_PASSPHRASE: TEST_PASSPHRASE,
    OPENAI_API_KEY: "sk-e2e-should-not-leak",
    NO_COLOR: "1",
    ...coverageEnv(),
  };
  const gateway = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-worker-options", MAIN, "run", "--port", "0"],
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const statusFile = join(data, "sockets", "status.json");
  type Entry = { channel: string; state: string; pid: number | null; connected: boolean };
  const entry = (): Entry | undefined => {
    try {
      return JSON.parse(Deno.readTextFileSync(statusFile)).adapters[0];
    } catch {
      return undefined;
    }
  };
  let adapterPid = 0;
  try {
    await waitFor(() => entry()?.connected === true, 25_000, "telegram adapter connected");
    const e = entry()!;
    assertEquals([e.channel, e.state], ["telegram", "running"]);
    adapterPid = e.pid!;
    // The adapter process: confined by flags, no secrets in its environment.
    const environ = cat(`/proc/${adapterPid}/environ`);
    assert(environ.length > 0);
    for (
      const s of [TEST_PASSPHRASE, "sk-e2e-should-not-leak", "WIRKEN_", "123456:test-bot-token"]
    ) {
      assert(!environ.includes(s), `adapter environment contains ${s.slice(0, 8)}...`);
    }
    const cmdline = cat(`/proc/${adapterPid}/cmdline`).split("\0");
    assert(cmdline.includes("adapter") && cmdline.includes("telegram"));
    assert(cmdline.some((a) => a.startsWith("--allow-net=api.telegram.org:443,unix:")));
    // `wirken status` from another process.
    const st = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "status"],
      clearEnv: true,
      env,
      stdout: "piped",
    }).output();
    const text = new TextDecoder().decode(st.stdout);
    assertEquals(st.code, 0, text);
    assertStringIncludes(text.split("\n").find((l) => l.startsWith("telegram")) ?? "", "running");
  } finally {
    gateway.kill("SIGTERM");
    const status = await gateway.status;
    const stderr = await new Response(gateway.stderr).text();
    assertEquals(status.code, 0, stderr.slice(-2000));
    if (adapterPid) {
      let alive = true;
      try {
        Deno.statSync(`/proc/${adapterPid}`);
      } catch {
        alive = false;
      }
      assert(!alive, "the adapter outlived the gateway");
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
