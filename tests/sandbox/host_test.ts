/**
 * The host backend's own refusals: a working directory outside the workspace (also through
 * `..` or a sibling folder sharing the workspace's name as a prefix), and a machine without
 * `setsid` (a timeout could not kill the command's process group). Also: the gateway's
 * environment does not reach the command.
 */
import { join } from "node:path";
import { HostSandbox } from "../../src/sandbox/host.ts";
import { DEFAULT_LIMITS, SandboxError, type SandboxLimits } from "../../src/sandbox/types.ts";
import { assertEquals, assertFalse, assertRejects, assertStringIncludes } from "../assert.ts";
import { dataDirFixture, removeFixture } from "./helpers.ts";

const LIMITS: SandboxLimits = { ...DEFAULT_LIMITS, timeoutMs: 20_000 };

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("host: a working directory outside the workspace is refused before anything runs", async () => {
  const f = await dataDirFixture();
  const sibling = `${f.workspace}-evil`;
  await Deno.mkdir(sibling);
  try {
    const sb = new HostSandbox(f.workspace);
    for (
      const cwd of [
        f.outsideDir,
        f.dataDir,
        sibling,
        `${f.workspace}/../../outside`,
        `${f.workspace}/..`,
      ]
    ) {
      const e = await assertRejects(
        () => sb.run({ argv: ["touch", "ran-here"], cwd }, LIMITS),
        SandboxError,
      );
      assertStringIncludes(e.message, "outside the workspace");
    }
    for (const dir of [f.outsideDir, f.dataDir, sibling]) {
      assertFalse(await exists(join(dir, "ran-here")), `the command ran in ${dir}`);
    }
  } finally {
    await removeFixture(f);
  }
});

Deno.test("host: a subfolder of the workspace is a fine working directory", async () => {
  const f = await dataDirFixture();
  try {
    await Deno.mkdir(join(f.workspace, "sub"));
    const sb = new HostSandbox(f.workspace);
    const r = await sb.run({ argv: ["pwd"], cwd: join(f.workspace, "sub") }, LIMITS);
    assertEquals(r.stdout.trim(), join(f.workspace, "sub"));
    assertEquals(r.sandbox, "host");
    const up = await sb.run({ argv: ["pwd"], cwd: `${f.workspace}/sub/..` }, LIMITS);
    assertEquals(up.stdout.trim(), f.workspace, "`..` that stays inside is fine");
  } finally {
    await removeFixture(f);
  }
});

Deno.test("host: the gateway's environment does not reach the command", async () => {
  const f = await dataDirFixture();
  Deno.env.set("WIRKEN_HOST_TEST_SECRET", "do-not-leak");
  try {
    const r = await new HostSandbox(f.workspace).run(
      { argv: ["sh", "-c", 'echo "[$WIRKEN_HOST_TEST_SECRET] $HOME $EXTRA"'], env: { EXTRA: "x" } },
      LIMITS,
    );
    assertEquals(r.stdout.trim(), `[] ${f.workspace} x`);
  } finally {
    Deno.env.delete("WIRKEN_HOST_TEST_SECRET");
    await removeFixture(f);
  }
});

Deno.test("host: without setsid on PATH it refuses and says what to install", async () => {
  const f = await dataDirFixture();
  const path = Deno.env.get("PATH");
  // An empty PATH directory: setsid (and everything else) is missing.
  Deno.env.set("PATH", f.outsideDir);
  try {
    const e = await assertRejects(
      () => new HostSandbox(f.workspace).run({ argv: ["touch", "ran-here"] }, LIMITS),
      SandboxError,
    );
    assertStringIncludes(e.message, "setsid is missing");
    assertStringIncludes(e.fix ?? "", "util-linux");
    assertFalse(await exists(join(f.workspace, "ran-here")));
  } finally {
    if (path === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", path);
    await removeFixture(f);
  }
});
