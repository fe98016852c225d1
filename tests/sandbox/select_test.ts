/**
 * Sandbox selection, host execution (opt-in only) and the bwrap wrapper for MCP servers.
 */
import { join } from "node:path";
import { BwrapSandbox, bwrapWrapper } from "../../src/sandbox/bwrap.ts";
import { HostSandbox } from "../../src/sandbox/host.ts";
import {
  createSandbox,
  limitsFrom,
  type SandboxSettings,
  sandboxStatus,
} from "../../src/sandbox/select.ts";
import { DEFAULT_LIMITS, SandboxError } from "../../src/sandbox/types.ts";
import { assert, assertEquals, assertFalse, assertRejects } from "../assert.ts";
import { announceSkip, dataDirFixture, removeFixture } from "./helpers.ts";

const bwrapOk = await BwrapSandbox.available();
if (!bwrapOk) announceSkip("bwrap selection tests", "bwrap is missing or cannot create namespaces");

const SETTINGS: SandboxSettings = {
  sandbox: "auto",
  docker: { engine: "docker", image: "none:latest" },
  memoryMb: 512,
  maxProcesses: 256,
  outputLimitBytes: 32768,
};

Deno.test({
  name: "select: auto picks bubblewrap when it works",
  ignore: !bwrapOk,
  fn: async () => {
    const f = await dataDirFixture();
    try {
      const sb = await createSandbox(SETTINGS, f.workspace);
      assertEquals(sb.kind, "bwrap");
      const r = await sb.run({ argv: ["echo", "ok"] }, limitsFrom(SETTINGS, 10));
      assertEquals(r.stdout, "ok\n");
    } finally {
      await removeFixture(f);
    }
  },
});

Deno.test("select: a configured engine that is missing is an error, never a silent host run", async () => {
  await assertRejects(
    () =>
      createSandbox(
        { ...SETTINGS, sandbox: "docker", docker: { engine: "podman", image: "x" } },
        "/tmp",
      ),
    SandboxError,
    "No sandbox is available",
  );
});

Deno.test("select: limits come from config", () => {
  assertEquals(limitsFrom(SETTINGS, 300), {
    timeoutMs: 300_000,
    maxOutputBytes: 32768,
    memoryBytes: 512 * 1024 * 1024,
    maxProcesses: 256,
  });
});

Deno.test("host: runs in the workspace and a timeout kills the whole process group", async () => {
  const f = await dataDirFixture();
  try {
    const sb = (await createSandbox({ ...SETTINGS, sandbox: "host" }, f.workspace)) as HostSandbox;
    assertEquals(sb.kind, "host");
    const r = await sb.run({ argv: ["sh", "-c", "pwd"] }, { ...DEFAULT_LIMITS, timeoutMs: 5000 });
    assertEquals(r.stdout.trim(), f.workspace);
    const slow = await sb.run(
      { argv: ["sh", "-c", `(sleep 2; touch ${f.workspace}/late) & sleep 1000`] },
      { ...DEFAULT_LIMITS, timeoutMs: 500 },
    );
    assertEquals(slow.timedOut, true);
    await new Promise((res) => setTimeout(res, 2500));
    let exists = true;
    try {
      await Deno.stat(join(f.workspace, "late"));
    } catch {
      exists = false;
    }
    assertFalse(exists, "a child of the timed-out command survived");
  } finally {
    await removeFixture(f);
  }
});

Deno.test({
  name: "bwrapWrapper: wraps a long-running command with the same confinement",
  ignore: !bwrapOk,
  fn: async () => {
    const f = await dataDirFixture();
    try {
      const bwrapPath = await Deno.realPath("/usr/bin/bwrap").catch(() => "bwrap");
      const wrap = bwrapWrapper({ workspace: f.workspace, bwrapPath });
      const [cmd, ...args] = wrap(["sh", "-c", `cat ${f.vault}; cat /proc/net/dev; echo done`]);
      const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert(text.includes("done"));
      assertFalse(text.includes("VAULT-SECRET"));
      assertFalse(/eth|ens|docker/.test(text));
    } finally {
      await removeFixture(f);
    }
  },
});

Deno.test({
  name: "select: sandboxStatus reports what auto resolves to",
  ignore: !bwrapOk,
  fn: async () => {
    assertEquals((await sandboxStatus(SETTINGS)).kind, "bwrap");
    assertEquals((await sandboxStatus({ ...SETTINGS, sandbox: "host" })).kind, "host");
    const none = await sandboxStatus({
      ...SETTINGS,
      sandbox: "docker",
      docker: { engine: "podman", image: "x" },
    });
    assertEquals(none.ok, false);
  },
});
