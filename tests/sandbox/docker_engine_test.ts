/**
 * The Docker backend's contract with the engine CLI, checked against a scripted stand-in for
 * `docker` (a shell script that records its arguments and environment, then runs the command
 * after the image name on the host). The real-engine escape tests are in docker_test.ts and run
 * where a daemon answers; these run everywhere and pin down what wirken asks the engine for:
 * the isolation flags, no gateway environment, `docker kill` on timeout, exit 125 reported as
 * the engine's failure, and the selection logic that must never fall back to a weaker sandbox.
 */
import { join } from "node:path";
import { dockerRunArgs, DockerSandbox } from "../../src/sandbox/docker.ts";
import { DEFAULT_LIMITS, SandboxError } from "../../src/sandbox/types.ts";
import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
} from "../assert.ts";
import { coverageEnv } from "../coverage/env.ts";
import { type DataDirFixture, dataDirFixture, removeFixture } from "./helpers.ts";

interface FakeEngine {
  bin: string;
  dir: string;
  args(): Promise<string[]>;
  env(): Promise<string>;
  killed(): Promise<string[]>;
}

/** Writes the stand-in engine into `<base>/fakebin/docker` (and `podman`, the same script). */
async function fakeEngine(base: string): Promise<FakeEngine> {
  const dir = join(base, "fakebin");
  await Deno.mkdir(dir, { recursive: true });
  // PATH is set inside: the tests below run it with only the stand-ins' folder on PATH.
  const script = `#!/bin/sh
PATH=/usr/bin:/bin; export PATH
d='${dir}'
case "$1" in
  version)
    if [ -f "$d/down" ]; then echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1; fi
    echo 28.2.2; exit 0 ;;
  kill) echo "$2" >> "$d/killed"; exit 0 ;;
  run)
    printf '%s\\n' "$@" > "$d/args"; env > "$d/env"
    if [ -f "$d/broken" ]; then echo "Unable to find image 'none:latest' locally" >&2; exit 125; fi
    while [ "$1" != "--" ]; do shift; done
    shift; shift
    exec "$@" ;;
esac
exit 2
`;
  for (const name of ["docker", "podman"]) {
    await Deno.writeTextFile(join(dir, name), script, { mode: 0o755 });
  }
  const lines = async (f: string) =>
    (await Deno.readTextFile(join(dir, f)).catch(() => "")).split("\n").filter(Boolean);
  return {
    bin: join(dir, "docker"),
    dir,
    args: () => lines("args"),
    env: () => Deno.readTextFile(join(dir, "env")),
    killed: () => lines("killed"),
  };
}

async function withEngine(
  fn: (f: DataDirFixture, engine: FakeEngine) => Promise<void>,
): Promise<void> {
  const f = await dataDirFixture();
  try {
    await fn(f, await fakeEngine(f.base));
  } finally {
    await removeFixture(f);
  }
}

const LIMITS = { ...DEFAULT_LIMITS, timeoutMs: 30_000 };

Deno.test("docker: run args isolate the container (no network, caps, root fs, user, one mount)", () => {
  const args = dockerRunArgs(
    { workspace: "/w", image: "img:1", user: "1000:1000", extraArgs: ["--runtime", "runc"] },
    "wirken-x",
    { argv: ["sh", "-c", "id"], cwd: "/w/sub", env: { A: "1" } },
    { ...DEFAULT_LIMITS, memoryBytes: 1024, maxProcesses: 7 },
  );
  for (
    const flag of [
      "--network=none",
      "--read-only",
      "--cap-drop=ALL",
      "--security-opt=no-new-privileges",
      "--ipc=none",
      "--pull=never",
      "--memory=1024",
      "--memory-swap=1024",
      "--pids-limit=7",
      "--user=1000:1000",
      "--volume=/w:/w:rw",
      "--workdir=/w/sub",
    ]
  ) {
    assert(args.includes(flag), `missing ${flag}: ${args.join(" ")}`);
  }
  assertEquals(args.filter((a) => a.startsWith("--volume")).length, 1);
  assertFalse(args.some((a) => a.startsWith("--privileged") || a.startsWith("--cap-add")));
  // The image and command come after `--`, so a command cannot smuggle engine flags.
  const dash = args.indexOf("--");
  assertEquals(args.slice(dash), ["--", "img:1", "sh", "-c", "id"]);
  assertEquals(args.slice(dash - 2, dash), ["--runtime", "runc"]);
  assert(args.indexOf("A=1") < dash);
  // Without a configured user, never root inside.
  const auto = dockerRunArgs({ workspace: "/w", image: "i" }, "n", { argv: ["id"] }, LIMITS);
  const user = auto.find((a) => a.startsWith("--user="))!;
  assert(user !== "--user=0:0" && !user.startsWith("--user=0:"), user);
  if (Deno.uid() === 0) assertEquals(user, "--user=65534:65534");
});

Deno.test("docker: the engine is asked for the isolation flags and gets none of the gateway's env", async () => {
  await withEngine(async (f, engine) => {
    Deno.env.set("WIRKEN_CANARY_SECRET", "must-not-reach-the-engine");
    try {
      const sb = new DockerSandbox({
        workspace: f.workspace,
        image: "none:latest",
        engine: engine.bin,
      });
      const r = await sb.run({ argv: ["sh", "-c", "echo out; echo err >&2; exit 3"] }, LIMITS);
      assertEquals([r.exitCode, r.stdout, r.stderr, r.timedOut], [3, "out\n", "err\n", false]);
      const args = await engine.args();
      assertEquals(args[0], "run");
      for (const flag of ["--network=none", "--cap-drop=ALL", "--read-only", "--rm"]) {
        assert(args.includes(flag), flag);
      }
      const name = args[args.indexOf("--name") + 1];
      assert(/^wirken-[0-9a-f-]{36}$/.test(name), name);
      const env = await engine.env();
      assertFalse(env.includes("must-not-reach-the-engine"));
      assertFalse(env.includes("WIRKEN_"));
    } finally {
      Deno.env.delete("WIRKEN_CANARY_SECRET");
    }
  });
});

Deno.test("docker: stdin reaches the command; a cwd outside the workspace is refused before any run", async () => {
  await withEngine(async (f, engine) => {
    const sb = new DockerSandbox({
      workspace: f.workspace,
      image: "none:latest",
      engine: engine.bin,
    });
    const r = await sb.run({ argv: ["cat"], stdin: new TextEncoder().encode("piped") }, LIMITS);
    assertEquals(r.stdout, "piped");
    await Deno.remove(join(engine.dir, "args"));
    for (const cwd of [f.outsideDir, `${f.workspace}-evil`, f.dataDir]) {
      await assertRejects(
        () => sb.run({ argv: ["id"], cwd }, LIMITS),
        SandboxError,
        "outside the workspace",
      );
    }
    assertEquals(await engine.args(), []);
  });
});

Deno.test("docker: a timeout kills the container by name, not only the client", async () => {
  await withEngine(async (f, engine) => {
    const sb = new DockerSandbox({
      workspace: f.workspace,
      image: "none:latest",
      engine: engine.bin,
    });
    const r = await sb.run({ argv: ["sleep", "30"] }, { ...LIMITS, timeoutMs: 300 });
    assert(r.timedOut);
    const args = await engine.args();
    assertEquals(await engine.killed(), [args[args.indexOf("--name") + 1]]);
  });
});

Deno.test("docker: exit 125 (the engine failed, e.g. no image) is an error that names the image", async () => {
  await withEngine(async (f, engine) => {
    await Deno.writeTextFile(join(engine.dir, "broken"), "");
    const sb = new DockerSandbox({
      workspace: f.workspace,
      image: "none:latest",
      engine: engine.bin,
    });
    const e = await assertRejects(() => sb.run({ argv: ["true"] }, LIMITS), SandboxError);
    assertStringIncludes(e.message, "Unable to find image");
    assertStringIncludes(e.fix ?? "", "none:latest");
  });
});

Deno.test("docker: engine availability says whether it is missing or has no daemon", async () => {
  await withEngine(async (f, engine) => {
    assertEquals(await DockerSandbox.unavailableReason(engine.bin), null);
    await Deno.writeTextFile(join(engine.dir, "down"), "");
    const why = await DockerSandbox.unavailableReason(engine.bin);
    assertStringIncludes(why ?? "", "no engine answers (Cannot connect to the Docker daemon");
    assertEquals(
      await DockerSandbox.unavailableReason("wirken-no-such-engine"),
      "wirken-no-such-engine is not installed",
    );
    const sb = new DockerSandbox({
      workspace: f.workspace,
      image: "i",
      engine: "wirken-no-such-engine",
    });
    await assertRejects(() => sb.run({ argv: ["id"] }, LIMITS), SandboxError, "not installed");
  });
});

/**
 * Sandbox selection with the stand-in engine first on PATH. It runs in a child process because
 * PATH is process-wide and other test files run beside this one.
 */
Deno.test("select: docker and podman are chosen when they answer; a required engine that does not is refused, never replaced", async () => {
  await withEngine(async (f, engine) => {
    const probe = join(f.base, "probe.ts");
    const select = new URL("../../src/sandbox/select.ts", import.meta.url).href;
    await Deno.writeTextFile(
      probe,
      `import { createSandbox } from ${JSON.stringify(select)};
const base = { docker: { engine: "docker", image: "none:latest" }, memoryMb: 64, maxProcesses: 8, outputLimitBytes: 1024 };
const out = {};
async function attempt(key, settings) {
  try {
    const sb = await createSandbox({ ...base, ...settings }, ${JSON.stringify(f.workspace)});
    const r = await sb.run({ argv: ["echo", "ran"] }, { timeoutMs: 30000, maxOutputBytes: 1024, memoryBytes: 1 << 26, maxProcesses: 8 });
    out[key] = sb.kind + ":" + r.stdout.trim();
  } catch (e) { out[key] = "error:" + e.message; }
}
await attempt("docker", { sandbox: "docker" });
await attempt("requiredDocker", { sandbox: "host", required: { backend: "docker", by: "Org policy" } });
await attempt("podman", { sandbox: "docker", docker: { engine: "podman", image: "none:latest" } });
await attempt("requiredWasm", { sandbox: "host", required: { backend: "wasm", by: "Org policy" } });
// Back to the fake engine only: a real docker in /usr/bin may have a running daemon.
Deno.env.set("PATH", ${JSON.stringify(engine.dir)});
await Deno.writeTextFile(${JSON.stringify(join(engine.dir, "down"))}, "");
await attempt("dockerDown", { sandbox: "docker" });
await attempt("requiredDown", { sandbox: "host", required: { backend: "docker", by: "Org policy" } });
console.log(JSON.stringify(out));
`,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", probe],
      clearEnv: true,
      env: {
        PATH: `${engine.dir}:/usr/bin:/bin`,
        HOME: Deno.env.get("HOME") ?? f.base,
        ...coverageEnv(),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(run.stdout);
    assert(run.success, new TextDecoder().decode(run.stderr));
    const out: Record<string, string> = JSON.parse(text);
    assertEquals(out.docker, "docker:ran");
    assertEquals(out.podman, "docker:ran");
    // Podman (the last run) gets runc (crun fails in nested namespaces).
    const args = await engine.args();
    assert(args.includes("--runtime") && args.includes("runc"), args.join(" "));
    // Required docker overrides `host` in local config.
    assertEquals(out.requiredDocker, "docker:ran");
    assertStringIncludes(out.requiredWasm, "error:Org policy requires the Wasm sandbox");
    assertStringIncludes(out.dockerDown, "error:No sandbox is available for shell commands");
    assertStringIncludes(out.dockerDown, "Cannot connect to the Docker daemon");
    assertStringIncludes(out.requiredDown, "error:Org policy requires Docker/Podman");
    assertStringIncludes(out.requiredDown, "refused rather than run in a weaker sandbox");
  });
});

Deno.test("select: without bubblewrap, auto falls to the engine, bwrap and a bwrap requirement refuse, and a later install needs no restart", async () => {
  await withEngine(async (f, engine) => {
    const probe = join(f.base, "probe_nobwrap.ts");
    const select = new URL("../../src/sandbox/select.ts", import.meta.url).href;
    await Deno.writeTextFile(
      probe,
      `import { createSandbox, sandboxProvider, sandboxStatus } from ${JSON.stringify(select)};
const ws = ${JSON.stringify(f.workspace)};
const base = { sandbox: "auto", docker: { engine: "docker", image: "none:latest" }, memoryMb: 64, maxProcesses: 8, outputLimitBytes: 1024 };
const req = (backend) => ({ required: { backend, by: "Org policy" } });
const out = {};
async function attempt(key, settings) {
  try { out[key] = (await createSandbox({ ...base, ...settings }, ws)).kind; }
  catch (e) { out[key] = "error:" + e.message; }
}
async function status(key, settings) {
  const s = await sandboxStatus({ ...base, ...settings });
  out[key] = (s.ok ? "ok:" : "no:") + s.kind + ":" + s.detail;
}
const withBwrap = Deno.env.get("PATH");
Deno.env.set("PATH", ${JSON.stringify(engine.dir)});
await attempt("auto", {});
await attempt("bwrap", { sandbox: "bwrap" });
await attempt("requiredBwrap", { sandbox: "auto", ...req("bubblewrap") });
await status("statusAuto", {});
await status("statusBwrap", { sandbox: "bwrap" });
await status("statusHost", { sandbox: "host" });
await status("statusReqBwrap", req("bubblewrap"));
await status("statusReqDocker", req("docker"));
await status("statusReqWasm", req("wasm"));
const provide = sandboxProvider({ ...base, sandbox: "bwrap" });
try { await provide(ws); out.provider1 = "created"; } catch (e) { out.provider1 = "error:" + e.message; }
Deno.env.set("PATH", withBwrap);
const bw = await import(${
        JSON.stringify(new URL("../../src/sandbox/bwrap.ts", import.meta.url).href)
      });
out.bwrapHere = await bw.BwrapSandbox.available();
try { out.provider2 = (await provide(ws)).kind; } catch (e) { out.provider2 = "error:" + e.message; }
out.cached = (await provide(ws)) === (await provide(ws));
await status("statusReqBwrapHere", req("bubblewrap"));
// Back to the fake engine only: a real docker in /usr/bin may have a running daemon.
Deno.env.set("PATH", ${JSON.stringify(engine.dir)});
await Deno.writeTextFile(${JSON.stringify(join(engine.dir, "down"))}, "");
await status("statusDown", { sandbox: "docker" });
await status("statusReqDown", req("docker"));
console.log(JSON.stringify(out));
`,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", probe],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? f.base, ...coverageEnv() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(run.success, new TextDecoder().decode(run.stderr));
    const out: Record<string, string | boolean> = JSON.parse(new TextDecoder().decode(run.stdout));
    assertEquals(out.auto, "docker");
    assertStringIncludes(String(out.bwrap), "error:bubblewrap is configured but cannot run here");
    assertStringIncludes(String(out.requiredBwrap), "error:Org policy requires bubblewrap");
    assertStringIncludes(String(out.requiredBwrap), "refused rather than run in a weaker sandbox");
    assertEquals(out.statusAuto, "ok:docker:docker, image none:latest");
    assertEquals(out.statusBwrap, "no:null:bubblewrap is configured but cannot run here");
    assertStringIncludes(String(out.statusHost), "ok:host:host execution (no sandbox)");
    assertStringIncludes(String(out.statusReqBwrap), "no:null:Org policy requires bubblewrap");
    assertStringIncludes(String(out.statusReqDocker), "ok:docker:docker (required by Org policy)");
    assertStringIncludes(String(out.statusReqWasm), "no:null:Org policy requires the Wasm sandbox");
    assertStringIncludes(String(out.provider1), "error:bubblewrap is configured");
    if (out.bwrapHere) {
      // The failure was not cached: bubblewrap found later is used, then reused.
      assertEquals(out.provider2, "bwrap");
      assertEquals(out.cached, true);
      assertStringIncludes(
        String(out.statusReqBwrapHere),
        "ok:bwrap:bubblewrap (required by Org policy)",
      );
    }
    assertStringIncludes(
      String(out.statusDown),
      "no:null:no sandbox for exec: docker is installed but no engine answers",
    );
    assertStringIncludes(
      String(out.statusReqDown),
      "no:null:Org policy requires Docker/Podman, which is unusable here",
    );
  });
});
