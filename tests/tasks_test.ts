import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import denoJson from "../deno.json" with { type: "json" };
import { RUN_FLAGS } from "./cli/helpers.ts";

const tasks: Record<string, string> = denoJson.tasks;

Deno.test("deno.json: the tasks the README and CI rely on exist", () => {
  for (const t of ["dev", "start", "test", "check", "lint", "fmt", "bench", "wirken", "compile"]) {
    assert(tasks[t], `task ${t} missing`);
  }
  assertStringIncludes(tasks.test, "deno fmt --check");
  assertStringIncludes(tasks.test, "deno lint");
  assertStringIncludes(tasks.test, "deno task check");
  assertStringIncludes(tasks.test, "deno test");
});

Deno.test("deno.json: wirken, start, dev, compile and the release build share one permission set", async () => {
  const flags = (cmd: string) =>
    cmd.split(" ").filter((w) => w.startsWith("--allow") || w.startsWith("--unstable"));
  const expected = RUN_FLAGS;
  assertEquals(flags(tasks.wirken), expected);
  assertEquals(flags(tasks.start), expected);
  assertEquals(flags(tasks.dev), expected);
  assertEquals(flags(tasks.compile), expected);
  const release = await Deno.readTextFile(
    new URL("../.github/workflows/release.yml", import.meta.url),
  );
  for (const f of expected) assertStringIncludes(release, f);
  for (
    const target of [
      "x86_64-unknown-linux-gnu",
      "aarch64-unknown-linux-gnu",
      "x86_64-apple-darwin",
      "aarch64-apple-darwin",
    ]
  ) {
    assertStringIncludes(release, target);
  }
  assertStringIncludes(release, "sha256sum");
});

Deno.test("deno.json: every npm import is pinned to an exact version", () => {
  for (const [name, spec] of Object.entries(denoJson.imports as Record<string, string>)) {
    if (!spec.startsWith("npm:")) continue;
    assert(/@\d+\.\d+\.\d+(\/|$)/.test(spec), `${name} -> ${spec} is not pinned`);
  }
});

Deno.test("README: the test command is the one .ci/run calls", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const ci = await Deno.readTextFile(new URL("../.ci/run", import.meta.url));
  const testCmd = "npx -y deno@2.9.6 task test";
  const runCmd = "npx -y deno@2.9.6 task start";
  assertStringIncludes(readme, testCmd);
  assertStringIncludes(readme, runCmd);
  assertStringIncludes(ci, testCmd);
  // Both commands near the top, before any other section.
  assert(readme.indexOf(testCmd) < readme.indexOf("## Install"));
});

Deno.test("deno.json: compile includes every Worker script and the bundled skills", async () => {
  const release = await Deno.readTextFile(
    new URL("../.github/workflows/release.yml", import.meta.url),
  );
  // Every `new Worker(new URL("./x.ts", import.meta.url))` in the code must be --include'd.
  const workers: string[] = [];
  for (const dir of ["src", "adapters"]) {
    for await (const file of walkTs(new URL(`../${dir}/`, import.meta.url))) {
      const text = await Deno.readTextFile(file);
      for (const m of text.matchAll(/new Worker\(new URL\("\.\/([\w.]+)", import\.meta\.url\)/g)) {
        const rel = file.pathname.slice(new URL("../", import.meta.url).pathname.length);
        workers.push(rel.replace(/[^/]+$/, m[1]));
      }
    }
  }
  assert(workers.length >= 2, `found ${workers.join(", ")}`);
  for (const w of [...workers, "skills/"]) {
    assertStringIncludes(tasks.compile, `--include ${w}`);
    assertStringIncludes(release, `--include ${w}`);
  }
});

async function* walkTs(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* walkTs(u);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield u;
  }
}
