import { resolve } from "node:path";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../assert.ts";
import {
  CoverageReportError,
  evaluate,
  hasRuntimeCode,
  lcovOf,
  listSources,
  parseLcov,
  SECURITY_MODULES,
} from "./gate.ts";

const ROOT = resolve(new URL("../../", import.meta.url).pathname);
const GATE = new URL("./gate.ts", import.meta.url).pathname;

/** An lcov record for `path` with `hit` of `found` lines executed. */
function record(path: string, found: number, hit: number, root = ROOT): string {
  const lines = [`SF:${root}/${path}`];
  for (let n = 1; n <= found; n++) lines.push(`DA:${n},${n <= hit ? 3 : 0}`);
  lines.push(`LF:${found}`, `LH:${hit}`, "end_of_record");
  return lines.join("\n");
}

/** A file per security folder and every security file named singly. */
function moduleFiles(): string[] {
  return SECURITY_MODULES.flatMap((m) => m.paths.map((p) => p.endsWith("/") ? `${p}a.ts` : p));
}

/** Every file of {@link moduleFiles} fully covered, so only what a test changes can fail. */
function passingReport(root = ROOT): string[] {
  return moduleFiles().map((p) => record(p, 100, 100, root));
}

/** Runs the gate CLI on `lcov` against a fake repository holding exactly `sources`. */
async function runGate(
  lcov: (root: string) => string,
  sources: string[] = moduleFiles(),
): Promise<{ code: number; out: string }> {
  const root = await Deno.makeTempDir({ prefix: "wirken-gate-" });
  try {
    for (const s of sources) {
      await Deno.mkdir(`${root}/${s.replace(/[^/]+$/, "")}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${s}`, "export const a = 1;\n");
    }
    await Deno.writeTextFile(`${root}/report.lcov`, lcov(root));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-run",
        GATE,
        "--root",
        root,
        "--lcov",
        `${root}/report.lcov`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("coverage gate: a security module at 89% fails and says which, how far and where", () => {
  const report = [...passingReport(), record("src/vault/weak.ts", 100, 78)].join("\n");
  // src/vault: 100/100 + 78/100 = 89.0%.
  const result = evaluate(parseLcov(report, ROOT), []);
  assertEquals(result.ok, false);
  const vault = result.modules.find((m) => m.name === "src/vault")!;
  assertEquals(vault.percent, 89);
  assertEquals(vault.ok, false);
  assert(result.modules.filter((m) => m.name !== "src/vault").every((m) => m.ok));
});

Deno.test("coverage gate: the CLI exits 1 at 89% with a message naming the module and its files", async () => {
  const { code, out } = await runGate(
    (root) => [...passingReport(root), record("src/vault/weak.ts", 100, 78, root)].join("\n"),
    [...moduleFiles(), "src/vault/weak.ts"],
  );
  assertEquals(code, 1, out);
  assertStringIncludes(out, "coverage gate: src/vault is at 89.0% of lines, under the 90% floor");
  assertStringIncludes(out, "src/vault/weak.ts");
  assertStringIncludes(out, "missed lines 79,80,81");
  assertStringIncludes(out, "coverage gate: FAILED");
});

Deno.test("coverage gate: exactly 90% passes, and the CLI prints the table and exits 0", async () => {
  // src/audit: 180/200 = 90.0%.
  const { code, out } = await runGate(
    (root) => [...passingReport(root), record("src/audit/edge.ts", 100, 80, root)].join("\n"),
    [...moduleFiles(), "src/audit/edge.ts"],
  );
  assertEquals(code, 0, out);
  assertStringIncludes(out, "src/audit");
  assertStringIncludes(out, "180/200");
  assertStringIncludes(out, "90.0%");
  assertStringIncludes(out, "overall (all source)");
  assertStringIncludes(out, "coverage gate: ok");
});

Deno.test("coverage gate: test files and files outside the repo never count", () => {
  const report = [
    ...passingReport(),
    record("src/ipc/codec_test.ts", 100, 0),
    record("tests/ipc/helpers.ts", 100, 0),
    "SF:/somewhere/else/node_modules/x.js\nDA:1,0\nDA:2,0\nend_of_record",
  ].join("\n");
  const result = evaluate(parseLcov(report, ROOT), []);
  assert(result.ok);
  assertEquals(result.overall.found, 100 * moduleFiles().length);
});

Deno.test("coverage gate: a module file no test loaded fails the gate instead of being left out", () => {
  const result = evaluate(parseLcov(passingReport().join("\n"), ROOT), ["src/sandbox/never.ts"]);
  assertEquals(result.ok, false);
  const sandbox = result.modules.find((m) => m.name === "src/sandbox")!;
  assertEquals(sandbox.unloaded, ["src/sandbox/never.ts"]);
  assertEquals(sandbox.ok, false);
});

Deno.test("coverage gate: the CLI fails when a source file on disk is in no profile", async () => {
  const { code, out } = await runGate(
    (root) => passingReport(root).join("\n"),
    [...moduleFiles(), "src/ipc/forgotten.ts"],
  );
  assertEquals(code, 1, out);
  assertStringIncludes(out, "src/ipc/forgotten.ts (src/ipc) was loaded by no test");
});

Deno.test("coverage gate: a security file named in the list but gone from disk is an error", async () => {
  const { code, out } = await runGate(
    (root) => passingReport(root).join("\n"),
    moduleFiles().filter((f) => f !== "src/skills/signature.ts"),
  );
  assertEquals(code, 2, out);
  assertStringIncludes(
    out,
    "src/skills/signature.ts is listed as security code but does not exist",
  );
});

Deno.test("coverage gate: a module missing from the report fails (no data is not a pass)", () => {
  const report = passingReport().filter((r) => !r.includes("/src/permissions/")).join("\n");
  const result = evaluate(parseLcov(report, ROOT), []);
  const perms = result.modules.find((m) => m.name === "src/permissions")!;
  assertEquals(perms.percent, null);
  assertEquals(result.ok, false);
});

Deno.test("coverage gate: duplicate DA lines of one file (several processes) count once, at the max", () => {
  const report = `SF:${ROOT}/src/ipc/a.ts\nDA:1,0\nDA:2,1\nDA:1,4\nend_of_record`;
  const [f] = parseLcov(report, ROOT);
  assertEquals({ found: f.found, hit: f.hit }, { found: 2, hit: 2 });
});

Deno.test("coverage gate: a malformed or truncated report is an error, not a pass", () => {
  assertThrows(
    () => parseLcov(`SF:${ROOT}/src/ipc/a.ts\nDA:x,1\nend_of_record`, ROOT),
    CoverageReportError,
    "malformed",
  );
  assertThrows(
    () => parseLcov(`SF:${ROOT}/src/ipc/a.ts\nDA:1,1\n`, ROOT),
    CoverageReportError,
    "no end_of_record",
  );
  assertThrows(() => parseLcov("DA:1,1\nend_of_record", ROOT), CoverageReportError, "outside");
});

Deno.test("coverage gate: a types-only file has no runtime code; a re-export barrel does", () => {
  assertEquals(
    hasRuntimeCode(
      `/** doc with const x = 1 */\nimport type { A } from "./a.ts";\nexport interface B { a: A }\n` +
        `export type C = B | string; // let y\n`,
    ),
    false,
  );
  assert(hasRuntimeCode(`export { openVault } from "./open.ts";\n`));
  assert(hasRuntimeCode(`export * from "./errors.ts";\n`));
  assert(hasRuntimeCode(`export const X = 1;\n`));
  assert(hasRuntimeCode(`import { z } from "zod";\nexport type T = string;\n`));
});

Deno.test("coverage gate: the source listing covers every security module that exists on disk", async () => {
  const sources = await listSources(ROOT);
  for (const m of SECURITY_MODULES) {
    assert(sources.some((s) => m.paths.some((p) => s.startsWith(p))), `${m.name}: no source`);
  }
  assert(sources.includes("src/skills/signature.ts"));
  assertEquals(sources.filter((s) => s.startsWith("src/skills/") && s.endsWith("/load.ts")), []);
});

Deno.test("coverage gate: deno task test collects coverage and ends with the gate", async () => {
  const deno = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const task: string = deno.tasks.test;
  assert(task.includes("deno test ") && task.includes("--coverage=coverage"), task);
  assert(task.endsWith("tests/coverage/gate.ts coverage"), task);
  // The gate runs only after the tests pass, so .ci/run's summary line stays the last one.
  assert(task.indexOf("--coverage=coverage") < task.indexOf("tests/coverage/gate.ts"));
});

Deno.test("coverage gate: README names the floor and exactly the gated modules", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const section = readme.slice(readme.indexOf("### Tests and coverage"));
  assert(section.length > 0 && readme.includes("### Tests and coverage"));
  // deno fmt reflows prose, so words may be split across lines.
  const body = section.slice(
    0,
    section.indexOf("\n#", 5) === -1 ? undefined : section.indexOf("\n#", 5),
  ).replace(/\s+/g, " ");
  assertStringIncludes(body, "90% of lines");
  for (const m of SECURITY_MODULES) {
    for (const p of m.paths) assertStringIncludes(body, `\`${p}\``);
  }
});

Deno.test("coverage gate: a deno run child of a test adds its own profile (even with a cleared env); profiles cut short by kill -9 are dropped and counted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirken-covchild-" });
  try {
    await Deno.writeTextFile(
      `${dir}/lib.ts`,
      'export function which(n: number): string {\n  if (n > 0) {\n    return "child";\n  }\n  return "parent";\n}\n',
    );
    await Deno.writeTextFile(`${dir}/child.ts`, 'import { which } from "./lib.ts";\nwhich(1);\n');
    const env = new URL("./env.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/spawn_test.ts`,
      `import { coverageEnv } from ${JSON.stringify(env)};
import { which } from "./lib.ts";
Deno.test("spawn", async () => {
  which(0);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", ${JSON.stringify(`${dir}/child.ts`)}],
    clearEnv: true,
    env: coverageEnv(),
  }).output();
  if (!out.success) throw new Error("child failed");
});
`,
    );
    const test = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--no-check",
        "--allow-run",
        "--allow-env",
        "--allow-read",
        `--coverage=${dir}/cov`,
        "--coverage-raw-data-only",
        `${dir}/spawn_test.ts`,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(test.success, new TextDecoder().decode(test.stderr));
    // Profiles of processes killed mid-write (kill -9 tests): empty, and cut short.
    await Deno.writeTextFile(`${dir}/cov/killed-empty.json`, "");
    await Deno.writeTextFile(`${dir}/cov/killed-cut.json`, '{"scriptId":"1","url":"file:///x');
    const { lcov, dropped } = await lcovOf(`${dir}/cov`);
    assertEquals(dropped.map((p) => p.slice(p.lastIndexOf("/") + 1)).sort(), [
      "killed-cut.json",
      "killed-empty.json",
    ]);
    const files = parseLcov(lcov, dir);
    const lib = files.find((f) => f.path === "lib.ts");
    // Both branches ran: one in the test process, one only in the child.
    assert(lib, JSON.stringify(files));
    assertEquals(lib.missed, []);
    assert(files.some((f) => f.path === "child.ts"), "the child's own module is in the report");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
