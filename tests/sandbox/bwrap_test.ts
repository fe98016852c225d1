/**
 * Escape attempts against a real bubblewrap sandbox. `.ci/run` installs bubblewrap, so these
 * never skip in CI; elsewhere they skip loudly when bwrap cannot create namespaces.
 */
import { join } from "node:path";
import { BwrapSandbox, supportsDisableUserns } from "../../src/sandbox/bwrap.ts";
import { DEFAULT_LIMITS, SandboxError, type SandboxLimits } from "../../src/sandbox/types.ts";
import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
} from "../assert.ts";
import { announceSkip, type DataDirFixture, dataDirFixture, removeFixture } from "./helpers.ts";

const usable = await BwrapSandbox.available();
if (!usable) {
  announceSkip("bubblewrap sandbox tests", "bwrap is missing or cannot create namespaces");
}

const FAST: SandboxLimits = { ...DEFAULT_LIMITS, timeoutMs: 10_000 };

function test(name: string, fn: (f: DataDirFixture, sb: BwrapSandbox) => Promise<void>): void {
  Deno.test({
    name: usable ? `bwrap: ${name}` : `bwrap: ${name} [SKIPPED: bwrap unusable here]`,
    ignore: !usable,
    fn: async () => {
      const f = await dataDirFixture();
      try {
        await fn(f, new BwrapSandbox({ workspace: f.workspace }));
      } finally {
        await removeFixture(f);
      }
    },
  });
}

const sh = (text: string) => ({ argv: ["sh", "-c", text] });

test("runs a command in the workspace and writes there", async (f, sb) => {
  const r = await sb.run(sh("pwd; echo hello > made.txt; echo out; echo err >&2; exit 3"), FAST);
  assertEquals(r.exitCode, 3);
  assertEquals(r.stdout, `${f.workspace}\nout\n`);
  assertEquals(r.stderr, "err\n");
  assertEquals(r.sandbox, "bwrap");
  assertEquals(await Deno.readTextFile(join(f.workspace, "made.txt")), "hello\n");
});

test("network: a server on the host's loopback is unreachable", async (_f, sb) => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let accepted = false;
  (async () => {
    for await (const conn of listener) {
      accepted = true;
      conn.close();
    }
  })();
  try {
    const r = await sb.run({
      argv: ["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && echo CONNECTED`],
    }, FAST);
    assertFalse(r.stdout.includes("CONNECTED"), r.stdout);
    assert(r.exitCode !== 0);
    const r2 = await sb.run(
      { argv: ["bash", "-c", "exec 3<>/dev/tcp/1.1.1.1/53 && echo UP"] },
      FAST,
    );
    assertFalse(r2.stdout.includes("UP"));
    const ifaces = await sb.run(sh("cat /proc/net/dev"), FAST);
    assertFalse(/eth|ens|enp|docker/.test(ifaces.stdout), ifaces.stdout);
    assertFalse(accepted);
  } finally {
    listener.close();
  }
});

test("writing outside the workspace fails", async (f, sb) => {
  const attempts = [
    "echo x > /etc/wirken-escape",
    "echo x > /usr/wirken-escape",
    `echo x > ${f.outsideDir}/new.txt`,
    "echo x > /wirken-escape",
  ];
  for (const cmd of attempts) {
    const r = await sb.run(sh(cmd), FAST);
    assert(r.exitCode !== 0, `${cmd} succeeded`);
  }
  // The data directory's path exists inside only as empty, read-only mount scaffolding.
  for (const cmd of [`echo x > ${f.dataDir}/vault.db`, `echo x > ${f.workspace}/../planted`]) {
    assert((await sb.run(sh(cmd), FAST)).exitCode !== 0, `${cmd} succeeded`);
  }
  assertEquals(await Deno.readTextFile(f.vault), "VAULT-SECRET-BYTES");
  assertEquals([...Deno.readDirSync(f.outsideDir)].map((e) => e.name), ["secret.txt"]);
  assertEquals([...Deno.readDirSync(f.dataDir)].map((e) => e.name).sort(), [
    "vault.db",
    "workspace",
  ]);
  // /tmp inside is a fresh tmpfs: writes there vanish with the run.
  await sb.run(sh("echo x > /tmp/inside-only"), FAST);
  let leaked = true;
  try {
    await Deno.stat("/tmp/inside-only");
  } catch {
    leaked = false;
  }
  assertFalse(leaked);
});

test("the data directory, home folders and host secrets are not visible", async (f, sb) => {
  const r = await sb.run(
    sh(
      `cat ${f.vault}; cat ${f.outsideDir}/secret.txt; ls /root; ls /home; cat /etc/shadow; ` +
        `ls /etc/ssh; test -e /var/run/docker.sock && echo DOCKER; test -e /run/docker.sock && echo DOCKER`,
    ),
    FAST,
  );
  for (const leak of ["VAULT-SECRET", "OUTSIDE-SECRET", "DOCKER", "root:"]) {
    assertFalse(r.stdout.includes(leak), `leaked ${leak}: ${r.stdout}`);
  }
});

test("the gateway's environment does not leak in", async (_f, sb) => {
  Deno.env.set("WIRKEN_TEST_LEAK", "env-secret-value");
  try {
    const r = await sb.run(sh("env"), FAST);
    assertFalse(r.stdout.includes("env-secret-value"));
    assertStringIncludes(r.stdout, "PATH=");
  } finally {
    Deno.env.delete("WIRKEN_TEST_LEAK");
  }
});

test("no capabilities and a private PID namespace", async (_f, sb) => {
  const r = await sb.run(sh("grep CapEff /proc/self/status; ls /proc | grep -c '^[0-9]'"), FAST);
  assertStringIncludes(r.stdout, "CapEff:\t0000000000000000");
  const count = Number(r.stdout.trim().split("\n").at(-1));
  assert(count < 10, `sees ${count} processes`);
});

test("no nested user namespaces (when bwrap supports --disable-userns)", async (_f, sb) => {
  if (!(await supportsDisableUserns("/usr/bin/bwrap"))) {
    announceSkip("nested-userns test", "this bwrap predates --disable-userns (0.8.0)");
    return;
  }
  const r = await sb.run(sh("unshare -U true && echo NESTED"), FAST);
  assertFalse(r.stdout.includes("NESTED"), r.stdout + r.stderr);
});

test("sleep 1000 is killed at the timeout", async (_f, sb) => {
  const started = performance.now();
  const r = await sb.run(sh("sleep 1000"), { ...FAST, timeoutMs: 1000 });
  assertEquals(r.timedOut, true);
  assertEquals(r.exitCode, null);
  assert(performance.now() - started < 5000);
});

test("a background child cannot outlive the timeout", async (f, sb) => {
  const r = await sb.run(
    sh(`(sleep 3; echo alive > ${f.workspace}/late.txt) & sleep 1000`),
    { ...FAST, timeoutMs: 800 },
  );
  assertEquals(r.timedOut, true);
  await new Promise((res) => setTimeout(res, 3500));
  let exists = true;
  try {
    await Deno.stat(join(f.workspace, "late.txt"));
  } catch {
    exists = false;
  }
  assertFalse(exists, "a child survived the kill");
});

test("a fork bomb is contained and ends", async (_f, sb) => {
  // First prove the limit holds (counted inside), and only then light the bomb: if the limit
  // did not hold, the bomb would hit the whole test machine.
  const count = await sb.run(
    sh("for i in $(seq 1 200); do sleep 2 & done 2>/dev/null; ls /proc | grep -c '^[0-9]'"),
    { ...FAST, maxProcesses: 64 },
  );
  const seen = Number(count.stdout.trim() || "0");
  assert(seen <= 64, `saw ${seen} processes with a limit of 64`);
  const started = performance.now();
  const r = await sb.run(
    { argv: ["bash", "-c", ":(){ :|:& };: ; sleep 2; echo done"] },
    { ...FAST, timeoutMs: 4000, maxProcesses: 64 },
  );
  assert(performance.now() - started < 15_000);
  assert(r.timedOut || r.exitCode !== 0 || r.stdout.includes("done"));
});

test("a memory bomb fails under the memory limit", async (_f, sb) => {
  const r = await sb.run(
    sh("x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}"),
    { ...FAST, memoryBytes: 64 * 1024 * 1024 },
  );
  assertFalse(r.stdout.includes("300000000"), r.stdout);
});

test("output is capped and marked truncated; a flood is stopped", async (_f, sb) => {
  const r = await sb.run(sh("head -c 100000 /dev/zero | tr '\\0' x"), {
    ...FAST,
    maxOutputBytes: 1000,
  });
  assertEquals(r.stdout.length, 1000);
  assertEquals(r.truncated, true);
  const started = performance.now();
  const flood = await sb.run(sh("yes"), { ...FAST, maxOutputBytes: 1000 });
  assertEquals(flood.truncated, true);
  assert(performance.now() - started < 8000);
});

test("stdin is passed and the working directory must be inside", async (f, sb) => {
  const r = await sb.run({ argv: ["cat"], stdin: new TextEncoder().encode("piped in") }, FAST);
  assertEquals(r.stdout, "piped in");
  await Deno.mkdir(join(f.workspace, "sub"));
  const sub = await sb.run({ argv: ["pwd"], cwd: join(f.workspace, "sub") }, FAST);
  assertEquals(sub.stdout.trim(), join(f.workspace, "sub"));
  // Outside, a look-alike sibling, and `..` that starts with the workspace but leaves it.
  for (const cwd of [f.outsideDir, `${f.workspace}-evil`, `${f.workspace}/sub/../../x`]) {
    await assertRejects(
      () => sb.run({ argv: ["pwd"], cwd }, FAST),
      SandboxError,
      "outside the workspace",
    );
  }
});

Deno.test({
  name: "bwrap: as root without a pids cgroup it refuses to run (fails closed)",
  ignore: !usable || Deno.uid() !== 0,
  fn: async () => {
    const f = await dataDirFixture();
    try {
      const sb = new BwrapSandbox({ workspace: f.workspace, cgroups: false });
      await assertRejects(
        () => sb.run(sh("true"), FAST),
        SandboxError,
        "Cannot limit processes as root",
      );
    } finally {
      await removeFixture(f);
    }
  },
});
