/**
 * The supervisor with real adapter processes (`deno run main.ts adapter <channel>` with the
 * test driver): isolation on both the flags path and the Worker path, the child's environment,
 * kill -9 recovery with backoff, giving up on a crash loop, and no orphans after stop.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { openSession } from "../../src/ipc/session.ts";
import { Secret } from "../../src/secret.ts";
import { credentialNames } from "../../src/vault/types.ts";
import {
  type AdapterStatus,
  Supervisor,
  type SupervisorOptions,
} from "../../src/gateway/supervisor.ts";
import { MemoryCredentials, startTestGateway, type TestGateway, waitFor } from "./helpers.ts";
import { captureLogger } from "./helpers.ts";
import type { Channel } from "../../src/config/schema.ts";
import type { IpcServerOptions } from "../../src/ipc/server.ts";

const PARENT_ENV: Record<string, string> = {
  ...Deno.env.toObject(),
  WIRKEN_MASTER_PASSPHRASE: "hunter2-passphrase",
  WIRKEN_VAULT_KEY: "vault-key-value",
  OPENAI_API_KEY: "sk-test-openai",
  ANTHROPIC_API_KEY: "sk-ant-test",
  SLACK_API_URL: "http://127.0.0.1:9/slack",
  TELEGRAM_API_ROOT: "http://127.0.0.1:9",
};

interface Rig {
  gw: TestGateway;
  sup: Supervisor;
  creds: MemoryCredentials;
  status(ch?: Channel): AdapterStatus;
  stop(): Promise<void>;
}

async function rig(
  channels: Channel[],
  options: Partial<SupervisorOptions> = {},
  setup?: (creds: MemoryCredentials) => void,
  gateway: Partial<IpcServerOptions> = {},
): Promise<Rig> {
  const gw = await startTestGateway(channels, gateway);
  const creds = new MemoryCredentials();
  for (const ch of channels) creds.set(credentialNames.adapterKey(ch), gw.ids[ch].seed);
  setup?.(creds);
  const { log } = captureLogger();
  const sup = new Supervisor({
    channels,
    socketPath: gw.socketPath,
    gatewayPublicKey: gw.server.gatewayPublicKey,
    credentials: creds,
    audit: gw.audit,
    log,
    liveness: gw.server,
    env: PARENT_ENV,
    driver: "test",
    backoff: { baseMs: 50, maxMs: 400 },
    ...options,
  });
  await sup.start();
  return {
    gw,
    sup,
    creds,
    status: (ch = channels[0]) => sup.status().find((s) => s.channel === ch)!,
    async stop() {
      await sup.stop();
      await gw.close();
    },
  };
}

async function probe(r: Rig, text: string, ch: Channel = "telegram"): Promise<string> {
  const result = await r.gw.server.send(openSession(ch, "probe"), { text });
  return result.messageId;
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function isolationChecks(r: Rig): Promise<void> {
  await waitFor(() => r.gw.server.connected("telegram"), 15_000, "adapter connected");
  // A host outside the manifest.
  assertStringIncludes(await probe(r, "probe fetch https://example.com/"), "denied NotCapable");
  // The vault file.
  const vault = `${r.gw.dir}/vault.db`;
  await Deno.writeTextFile(vault, "not really a vault");
  assertStringIncludes(await probe(r, `probe read ${vault}`), "denied NotCapable");
  assertStringIncludes(await probe(r, "probe read /etc/passwd"), "denied NotCapable");
  // Not even the socket directory's status file (nor could it forge one).
  await Deno.writeTextFile(`${r.gw.dir}/sockets/other.json`, "{}");
  assertStringIncludes(
    await probe(r, `probe read ${r.gw.dir}/sockets/other.json`),
    "denied NotCapable",
  );
  // Another channel's env variable, and secrets (which are also absent from its environment).
  assertStringIncludes(await probe(r, "probe env SLACK_API_URL"), "denied NotCapable");
  assertStringIncludes(await probe(r, "probe env OPENAI_API_KEY"), "denied NotCapable");
  assertStringIncludes(await probe(r, "probe env WIRKEN_MASTER_PASSPHRASE"), "denied NotCapable");
  assertStringIncludes(await probe(r, "probe env HOME"), "denied NotCapable");
  // Its own manifest's env variable is readable.
  assertEquals(await probe(r, "probe env TELEGRAM_API_ROOT"), "allowed set");
  // No subprocesses.
  assertStringIncludes(await probe(r, "probe run /bin/true"), "denied NotCapable");
  // The echo path still works.
  assertEquals(await probe(r, "hello"), "echoed:hello");
}

/** Reads a /proc file through `cat`: Deno wants --allow-all to read /proc/<pid>/environ itself. */
function procFile(pid: number, name: string): string {
  const out = new Deno.Command("cat", { args: [`/proc/${pid}/${name}`] }).outputSync();
  assert(out.success, `cat /proc/${pid}/${name}`);
  return new TextDecoder().decode(out.stdout);
}

function environOf(pid: number): Record<string, string> {
  const raw = procFile(pid, "environ");
  return Object.fromEntries(
    raw.split("\0").filter(Boolean).map((
      kv,
    ) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

function assertCleanEnviron(pid: number): void {
  const env = environOf(pid);
  const names = Object.keys(env);
  assert(names.length > 0, "read the environ");
  for (const name of names) {
    assert(!name.startsWith("WIRKEN_"), `${name} leaked into the adapter`);
    assert(!/API_KEY/.test(name), `${name} leaked into the adapter`);
  }
  const values = Object.values(env).join("\n");
  for (const secret of ["hunter2-passphrase", "vault-key-value", "sk-test-openai", "sk-ant-test"]) {
    assert(!values.includes(secret), "a secret value leaked into the adapter's environment");
  }
  assertEquals(env.SLACK_API_URL, undefined, "another channel's variable is not passed");
}

Deno.test("flags path: the adapter process is confined to its manifest; its environ is clean", async () => {
  const r = await rig(["telegram"], { isolation: "process" });
  try {
    await isolationChecks(r);
    const pid = r.status().pid!;
    assertCleanEnviron(pid);
    const cmdline = procFile(pid, "cmdline").split("\0");
    assert(cmdline.some((a) => a.startsWith("--allow-net=api.telegram.org:443,127.0.0.1:9,unix:")));
    assert(!cmdline.some((a) => a === "--allow-all" || a === "-A" || a.startsWith("--allow-run")));
    assert(r.gw.audit.events.some((e) => e.kind === "adapter.start" && e.channel === "telegram"));
  } finally {
    await r.stop();
  }
});

Deno.test("Worker path: a broad-permission adapter process confines its channel code", async () => {
  const r = await rig(["telegram"], { isolation: "worker" });
  try {
    await isolationChecks(r);
    const pid = r.status().pid!;
    assertCleanEnviron(pid);
    // The process itself is broad (like a compiled binary); the Worker did the denying above.
    const cmdline = procFile(pid, "cmdline").split("\0");
    assert(cmdline.includes("--allow-net") && cmdline.includes("--unstable-worker-options"));
  } finally {
    await r.stop();
  }
});

Deno.test("kill -9: the adapter comes back with backoff; stop leaves no orphans", async () => {
  const r = await rig(["telegram", "slack"], { isolation: "process" });
  try {
    await waitFor(
      () => r.gw.server.connected("telegram") && r.gw.server.connected("slack"),
      15_000,
    );
    const first = r.status("telegram").pid!;
    Deno.kill(first, "SIGKILL");
    await waitFor(() => r.status("telegram").state === "backoff", 5000, "backoff");
    assertEquals(r.status("telegram").restarts, 1);
    assertStringIncludes(r.status("telegram").lastError ?? "", "SIGKILL");
    await waitFor(() => r.status("telegram").state === "running", 5000, "restarted");
    const second = r.status("telegram").pid!;
    assert(second !== first);
    await waitFor(() => r.gw.server.connected("telegram"), 15_000, "reconnected");
    assertEquals(await probe(r, "hello"), "echoed:hello");
    // Slack was untouched.
    assertEquals(r.status("slack").restarts, 0);
    const statusDoc = JSON.parse(await Deno.readTextFile(r.sup.statusFile));
    assertEquals(statusDoc.adapters.length, 2);
    assertEquals((await Deno.stat(r.sup.statusFile)).mode! & 0o777, 0o600);
    const pids = r.sup.status().map((s) => s.pid!);
    await r.sup.stop();
    for (const pid of pids) assert(!pidAlive(pid), `adapter ${pid} survived stop`);
    assert(r.gw.audit.events.some((e) => e.kind === "adapter.crash" && e.channel === "telegram"));
  } finally {
    await r.stop();
  }
});

Deno.test("a crash loop stops after 8 tries and status says why", async () => {
  const r = await rig(
    ["telegram"],
    {
      isolation: "process",
      backoff: { baseMs: 10, maxMs: 40 },
    },
    (creds) =>
      creds.set(credentialNames.channelSecret("telegram", "test_mode"), new Secret("crash")),
  );
  try {
    await waitFor(() => r.status().state === "failed", 25_000, "gave up").catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(r.status())}`);
    });
    const s = r.status();
    assertEquals(s.restarts, 7);
    assertEquals(s.consecutiveFailures, 8);
    assertStringIncludes(s.lastError ?? "", "gave up after 8 failures in a row");
    assertStringIncludes(s.lastError ?? "", "exited with code 1");
    // The file is written asynchronously after the in-memory state changes.
    const fileState = () => JSON.parse(Deno.readTextFileSync(r.sup.statusFile)).adapters[0].state;
    await waitFor(() => fileState() === "failed", 5000, "status file says failed");
    // And `wirken status`, another process, shows why.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--no-check",
        new URL("../../main.ts", import.meta.url).pathname,
        "status",
      ],
      env: { WIRKEN_DATA_DIR: r.gw.dir, NO_COLOR: "1" },
      stdout: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, text);
    const line = text.split("\n").find((l) => l.startsWith("telegram")) ?? "";
    assertStringIncludes(line, "failed");
    assertStringIncludes(line, "gave up after 8 failures in a row");
  } finally {
    await r.stop();
  }
});

Deno.test("a missing adapter key fails at once with a fix, without spawning", async () => {
  const r = await rig(
    ["telegram"],
    {},
    (creds) => creds.remove(credentialNames.adapterKey("telegram")),
  );
  try {
    const s = r.status();
    assertEquals(s.state, "failed");
    assertEquals(s.pid, null);
    assertStringIncludes(s.lastError ?? "", "wirken channel add telegram");
  } finally {
    await r.stop();
  }
});

Deno.test("an adapter that never heartbeats is killed after the dead interval and restarted", async () => {
  // Liveness that never sees the adapter: after deadAfterMs the supervisor must kill it.
  const silent = { connected: () => false, lastSeen: () => undefined };
  const r = await rig(["telegram"], { liveness: silent, heartbeatMs: 50, deadAfterMs: 400 });
  try {
    const first = r.status().pid!;
    await waitFor(() => r.status().restarts >= 1, 10_000, "killed and restarted");
    assertStringIncludes(r.status().lastError ?? "", "no heartbeat");
    assert(!pidAlive(first));
  } finally {
    await r.stop();
  }
});

Deno.test("an adapter process the gateway cuts off for flooding is killed and restarted with backoff", async () => {
  const r = await rig(["telegram"], { heartbeatMs: 50 }, undefined, {
    frameRate: { burst: 20, perSecond: 50, cutAfter: 40 },
  });
  try {
    await waitFor(() => r.gw.server.connected("telegram"), 15_000, "adapter connected");
    const first = r.status().pid!;
    assertEquals(await probe(r, "flood 100000"), "flooding");
    await waitFor(() => r.status().restarts >= 1, 15_000, "cut off, killed and restarted");
    assertStringIncludes(
      r.status().lastError ?? "",
      "cut off by the gateway: frame rate over limit",
    );
    assert(!pidAlive(first), "the flooding process is gone");
    const cut = r.gw.audit.events.filter((e) => e.kind === "adapter.crash" && e.payload?.cutOff);
    assertEquals(cut.map((e) => e.channel), ["telegram"]);
    // The restarted process is a fresh adapter: it connects and works.
    await waitFor(
      () =>
        r.status().state === "running" && r.status().pid !== first &&
        r.gw.server.connected("telegram"),
      15_000,
      "the new process connected",
    );
    assertEquals(await probe(r, "hello"), "echoed:hello");
  } finally {
    await r.stop();
  }
});

Deno.test("an adapter exits when its stdin closes (the gateway died): no orphans", async () => {
  const gw = await startTestGateway(["telegram"]);
  try {
    const { adapterGrants } = await import("../../adapters/shared/manifests.ts");
    const { launchPlan } = await import("../../src/gateway/supervisor.ts");
    const { encodeBundle } = await import("../../src/ipc/bundle.ts");
    const { toBase64 } = await import("../../src/ipc/keys.ts");
    const grants = adapterGrants("telegram", gw.socketPath, { get: () => undefined });
    const plan = launchPlan("telegram", grants, {
      compiled: false,
      isolation: "process",
      execPath: Deno.execPath(),
      mainModule: new URL("../../main.ts", import.meta.url).pathname,
      configPath: new URL("../../deno.json", import.meta.url).pathname,
    });
    const child = new Deno.Command(plan.command, {
      args: plan.args,
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(encodeBundle({
      version: 1,
      channel: "telegram",
      socketPath: gw.socketPath,
      gatewayKey: toBase64(gw.server.gatewayPublicKey),
      adapterKey: gw.ids.telegram.seed,
      credentials: new Map(),
      isolation: "process",
      grants,
      driver: "test",
    }));
    await waitFor(() => gw.server.connected("telegram"), 15_000, "connected");
    const started = Date.now();
    await writer.close();
    const status = await child.status;
    assertEquals(status.code, 0);
    assert(Date.now() - started < 3000);
  } finally {
    await gw.close();
  }
});

Deno.test("Worker path: channel code that exits its Worker is detected and restarted", async () => {
  const r = await rig(["telegram"], { isolation: "worker" });
  try {
    await waitFor(() => r.gw.server.connected("telegram"), 15_000, "connected");
    const first = r.status().pid!;
    assertEquals(await probe(r, "exit"), "exiting");
    await waitFor(() => r.status().restarts >= 1, 15_000, "restarted after the worker died");
    assert(!pidAlive(first));
    await waitFor(
      () => r.status().state === "running" && r.gw.server.connected("telegram"),
      15_000,
    );
    assertEquals(await probe(r, "hello"), "echoed:hello");
  } finally {
    await r.stop();
  }
});

Deno.test("a key the gateway rejects stops the adapter at once, with the gateway's reason", async () => {
  const { identity } = await import("./helpers.ts");
  const wrong = await identity("telegram");
  const r = await rig(
    ["telegram"],
    { isolation: "process" },
    (creds) => creds.set(credentialNames.adapterKey("telegram"), wrong.seed),
  );
  try {
    await waitFor(() => r.status().state === "failed", 15_000, "failed");
    assertEquals(r.status().restarts, 0);
    assertStringIncludes(
      r.status().lastError ?? "",
      "rejected by the gateway: public key does not match",
    );
  } finally {
    await r.stop();
  }
});

Deno.test("a squatter claiming the key is wrong does not make the supervisor give up", async () => {
  const { encodeFrame } = await import("../../src/ipc/codec.ts");
  const { FrameReader, lengthPrefixed } = await import("../../src/ipc/framing.ts");
  const r = await rig(["telegram"], { isolation: "process" });
  const squatPath = `${r.gw.dir}/sockets/squat.sock`;
  const squat = Deno.listen({ transport: "unix", path: squatPath });
  const lie = (async () => {
    for await (const conn of squat) {
      (async () => {
        await conn.write(lengthPrefixed(encodeFrame({
          type: "authChallenge",
          nonce: new Uint8Array(32),
          protocolVersion: 1,
        })));
        await new FrameReader(conn).next().catch(() => null);
        await conn.write(lengthPrefixed(encodeFrame({
          type: "authResult",
          ok: false,
          reason: "bad signature for telegram",
          channel: "",
          heartbeatIntervalMs: 0,
          gatewaySignature: new Uint8Array(),
        }))).catch(() => 0);
        conn.close();
      })().catch(() => {});
    }
  })();
  const { log } = captureLogger();
  const sup = new Supervisor({
    channels: ["telegram"],
    socketPath: squatPath,
    gatewayPublicKey: r.gw.server.gatewayPublicKey,
    credentials: r.creds,
    audit: r.gw.audit,
    log,
    liveness: r.gw.server, // the real gateway, which rejected nobody
    env: PARENT_ENV,
    driver: "test",
    statusFile: `${r.gw.dir}/sockets/squat-status.json`,
    backoff: { baseMs: 20, maxMs: 40 },
  });
  try {
    await sup.start();
    await waitFor(() => (sup.status()[0]?.restarts ?? 0) >= 2, 15_000, "restarted, not given up");
    assert(sup.status()[0].state !== "failed");
  } finally {
    await sup.stop();
    squat.close();
    await lie;
    await r.stop();
  }
});
