/**
 * Escape attempts against a real Docker engine. There is no image registry on our machines,
 * so the test builds its own image: a root filesystem made of this host's shell and
 * coreutils (with their shared libraries), loaded with `docker import`. Without a running
 * engine every test here is skipped, loudly, with the reason.
 */
import { dirname, join } from "node:path";
import { DockerSandbox } from "../../src/sandbox/docker.ts";
import { DEFAULT_LIMITS, type SandboxLimits } from "../../src/sandbox/types.ts";
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { announceSkip, type DataDirFixture, dataDirFixture, removeFixture } from "./helpers.ts";

const IMAGE = "wirken-test-rootfs:2";
const TOOLS = [
  "sh",
  "bash",
  "cat",
  "head",
  "tr",
  "sleep",
  "id",
  "env",
  "ls",
  "touch",
  "seq",
  "grep",
  "wc",
  "yes",
  "true",
];

async function run(cmd: string, args: string[], stdin?: Uint8Array): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  return await child.output();
}

async function which(name: string): Promise<string | null> {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    try {
      await Deno.stat(join(dir, name));
      return await Deno.realPath(join(dir, name));
    } catch { /* next */ }
  }
  return null;
}

/** Builds the test image from host binaries unless it exists; returns why it could not. */
async function ensureImage(): Promise<string | null> {
  const have = await run("docker", ["image", "inspect", IMAGE]);
  if (have.success) return null;
  const root = await Deno.makeTempDir({ prefix: "wirken-rootfs-" });
  try {
    for (const dir of ["usr/bin", "etc", "tmp", "proc", "dev", "sys"]) {
      await Deno.mkdir(join(root, dir), { recursive: true });
    }
    await Deno.chmod(join(root, "tmp"), 0o1777); // as in real images; the tmpfs inherits it
    for (const [link, target] of [["bin", "usr/bin"], ["lib", "usr/lib"], ["lib64", "usr/lib64"]]) {
      await Deno.symlink(target, join(root, link));
    }
    const libs = new Set<string>();
    for (const tool of TOOLS) {
      const path = await which(tool);
      if (!path) return `host has no ${tool} to put in the test image`;
      await Deno.copyFile(path, join(root, "usr/bin", tool));
      await Deno.chmod(join(root, "usr/bin", tool), 0o755);
      const ldd = new TextDecoder().decode((await run("ldd", [path])).stdout);
      for (const m of ldd.matchAll(/(\/[^\s]+)\s+\(0x/g)) libs.add(m[1]);
    }
    for (const lib of libs) {
      const real = await Deno.realPath(lib);
      // Merged /usr: /lib/x.so lives at /usr/lib/x.so in the image.
      const inImage = lib.replace(/^\/(lib|lib64)\//, "/usr/$1/");
      await Deno.mkdir(join(root, dirname(inImage)), { recursive: true });
      await Deno.copyFile(real, join(root, inImage));
    }
    await Deno.writeTextFile(
      join(root, "etc/passwd"),
      "root:x:0:0::/:/bin/sh\nuser:x:1000:1000::/tmp:/bin/sh\n",
    );
    await Deno.writeTextFile(join(root, "etc/group"), "root:x:0:\nuser:x:1000:\n");
    const tar = await run("tar", ["-C", root, "-c", "."]);
    if (!tar.success) return "tar failed building the test image";
    const imported = await run("docker", ["import", "-", IMAGE], tar.stdout);
    if (!imported.success) {
      return `docker import failed: ${new TextDecoder().decode(imported.stderr)}`;
    }
    return null;
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

let skipReason = await DockerSandbox.unavailableReason("docker");
if (!skipReason) skipReason = await ensureImage();
if (skipReason) announceSkip("Docker sandbox tests", skipReason);

const FAST: SandboxLimits = { ...DEFAULT_LIMITS, timeoutMs: 20_000 };
const sh = (text: string) => ({ argv: ["sh", "-c", text] });

function test(name: string, fn: (f: DataDirFixture, sb: DockerSandbox) => Promise<void>): void {
  Deno.test({
    name: skipReason ? `docker: ${name} [SKIPPED: ${skipReason}]` : `docker: ${name}`,
    ignore: skipReason !== null,
    fn: async () => {
      const f = await dataDirFixture();
      // The container runs as uid 1000; the test workspace must let it write.
      await Deno.chmod(f.workspace, 0o777);
      try {
        await fn(f, new DockerSandbox({ workspace: f.workspace, image: IMAGE, user: "1000:1000" }));
      } finally {
        await removeFixture(f);
      }
    },
  });
}

test("runs as a non-root user in the workspace, without capabilities", async (f, sb) => {
  const r = await sb.run(sh("id -u; pwd; grep CapEff /proc/self/status; echo hi > made.txt"), FAST);
  assertEquals(r.exitCode, 0, r.stderr);
  const [uid, pwd, cap] = r.stdout.trim().split("\n");
  assertEquals(uid, "1000");
  assertEquals(pwd, f.workspace);
  assertStringIncludes(cap, "0000000000000000");
  assertEquals(await Deno.readTextFile(join(f.workspace, "made.txt")), "hi\n");
  assertEquals(r.sandbox, "docker");
});

test("no network: the host and the outside are unreachable", async (_f, sb) => {
  const listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const r = await sb.run({
      argv: [
        "bash",
        "-c",
        `for h in 172.17.0.1 127.0.0.1 1.1.1.1; do (exec 3<>/dev/tcp/$h/${port}) 2>/dev/null && echo OPEN-$h; done; ls /sys/class/net`,
      ],
    }, FAST);
    assertFalse(r.stdout.includes("OPEN"), r.stdout);
    assertEquals(r.stdout.trim(), "lo");
  } finally {
    listener.close();
  }
});

test("read-only root: writing outside the workspace fails", async (f, sb) => {
  for (
    const cmd of ["echo x > /etc/x", "echo x > /usr/x", "echo x > /x", `echo x > ${f.dataDir}/x`]
  ) {
    const r = await sb.run(sh(cmd), FAST);
    assert(r.exitCode !== 0, `${cmd} succeeded`);
  }
  const tmp = await sb.run(sh("echo x > /tmp/ok && cat /tmp/ok"), FAST);
  assertEquals(tmp.stdout, "x\n", "the tmpfs /tmp is writable");
});

test("the data directory and host files are not visible", async (f, sb) => {
  const r = await sb.run(
    sh(`cat ${f.vault}; ls /root /home; cat ${f.outsideDir}/secret.txt; ls /var/run`),
    FAST,
  );
  assertFalse(r.stdout.includes("VAULT-SECRET"));
  assertFalse(r.stdout.includes("OUTSIDE-SECRET"));
  assertFalse(r.stdout.includes("docker.sock"));
});

test("sleep 1000 is killed at the timeout and the container is gone", async (_f, sb) => {
  const started = performance.now();
  const r = await sb.run(sh("sleep 1000"), { ...FAST, timeoutMs: 2000 });
  assertEquals(r.timedOut, true);
  assert(performance.now() - started < 15_000);
  // docker kill + --rm: nothing of ours left running.
  await new Promise((res) => setTimeout(res, 1000));
  const ps = await run("docker", [
    "ps",
    "--filter",
    "ancestor=" + IMAGE,
    "--format",
    "{{.Names}} {{.Command}}",
  ]);
  assertFalse(new TextDecoder().decode(ps.stdout).includes("sleep 1000"));
});

test("a fork bomb hits the PID limit", async (_f, sb) => {
  const r = await sb.run(
    sh("for i in $(seq 1 200); do sleep 5 & done 2>/dev/null; ls /proc | grep -c '^[0-9]'"),
    { ...FAST, maxProcesses: 32 },
  );
  const seen = Number(r.stdout.trim() || "0");
  assert(seen <= 32, `saw ${seen} processes with a limit of 32`);
  const bomb = await sb.run({ argv: ["bash", "-c", ":(){ :|:& };:; sleep 1; echo survived"] }, {
    ...FAST,
    timeoutMs: 8000,
    maxProcesses: 32,
  });
  assert(bomb.timedOut || bomb.exitCode !== null);
});

test("a memory bomb fails under the memory limit", async (_f, sb) => {
  const r = await sb.run(
    sh("x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}"),
    { ...FAST, memoryBytes: 64 * 1024 * 1024 },
  );
  assertFalse(r.stdout.includes("300000000"), r.stdout);
});

test("output is capped and truncated", async (_f, sb) => {
  const r = await sb.run(sh("head -c 100000 /dev/zero | tr '\\0' x"), {
    ...FAST,
    maxOutputBytes: 500,
  });
  assertEquals(r.stdout.length, 500);
  assertEquals(r.truncated, true);
});
