/**
 * `wirken status` as a user runs it (a real process reading the supervisor's status file),
 * including the crash-loop case where it must say why an adapter stopped.
 */
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import type { StatusFile } from "../../src/gateway/status_file.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function status(dataDir: string, json: boolean) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-check", MAIN, "status", ...(json ? ["--json"] : [])],
    env: { WIRKEN_DATA_DIR: dataDir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("status: not running without a status file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = await status(dir, false);
    assertEquals(text.code, 1);
    assertStringIncludes(text.stdout, "The gateway is not running");
    const json = await status(dir, true);
    assertEquals(JSON.parse(json.stdout).running, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status: lists adapters with pid, state, uptime, restarts and the last error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "sockets"), { mode: 0o700 });
    const doc: StatusFile = {
      version: 1,
      gatewayPid: Deno.pid, // alive: this test process
      socketPath: join(dir, "sockets", "gateway.sock"),
      updatedAt: new Date().toISOString(),
      adapters: [
        {
          channel: "telegram",
          pid: 4242,
          state: "running",
          startedAt: new Date(Date.now() - 125_000).toISOString(),
          connected: true,
          restarts: 1,
          consecutiveFailures: 0,
          lastError: "killed by SIGKILL",
          nextStartAt: null,
        },
        {
          channel: "slack",
          pid: null,
          state: "failed",
          startedAt: null,
          connected: false,
          restarts: 7,
          consecutiveFailures: 8,
          lastError: "gave up after 8 failures in a row: exited with code 1: bad token",
          nextStartAt: null,
        },
      ],
    };
    await Deno.writeTextFile(join(dir, "sockets", "status.json"), JSON.stringify(doc));
    const text = await status(dir, false);
    assertEquals(text.code, 0, text.stderr);
    assertStringIncludes(text.stdout, `Gateway running (pid ${Deno.pid})`);
    assertStringIncludes(text.stdout, "CHANNEL");
    const tg = text.stdout.split("\n").find((l) => l.startsWith("telegram"))!;
    assertStringIncludes(tg, "running");
    assertStringIncludes(tg, "4242");
    assertStringIncludes(tg, "2m 5s");
    const sl = text.stdout.split("\n").find((l) => l.startsWith("slack"))!;
    assertStringIncludes(sl, "failed");
    assertStringIncludes(sl, "gave up after 8 failures in a row");
    const json = JSON.parse((await status(dir, true)).stdout);
    assertEquals(json.running, true);
    assertEquals(json.adapters[1].state, "failed");
    assertEquals(json.adapters[0].uptimeSeconds >= 125, true);
    // A status file left by a dead gateway is reported as not running.
    await Deno.writeTextFile(
      join(dir, "sockets", "status.json"),
      JSON.stringify({ ...doc, gatewayPid: 2 ** 22 + 7 }),
    );
    const stale = await status(dir, false);
    assertEquals(stale.code, 1);
    assertStringIncludes(stale.stdout, "has exited");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
