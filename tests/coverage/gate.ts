/**
 * The coverage gate of `deno task test`: reads the line coverage of the test run, prints one row
 * per security module plus the overall figure, and exits 1 when a security module is under its
 * floor (90% of lines) or has a file that no test loaded.
 *
 *   deno run --allow-read --allow-write=<dir> --allow-run tests/coverage/gate.ts <dir>  (runs `deno coverage --lcov`)
 *   deno run --allow-read tests/coverage/gate.ts --lcov <file.lcov>            (an lcov report already made)
 *
 * `--root <dir>` (first) names another repository root, for the gate's own tests.
 *
 * Child processes count: `deno test --coverage=DIR` exports `DENO_COVERAGE_DIR=DIR`, which every
 * `deno run` started by a test inherits (helpers that clear the environment pass it on), so the
 * gateway and adapters that integration tests start add their profiles to the same directory.
 *
 * @module
 */
import { relative, resolve } from "node:path";

/** Line floor for every security module, in percent. */
export const FLOOR = 90;

/** One security module: a name for the table and the repo-relative files or folders it covers. */
export interface SecurityModule {
  name: string;
  /** Folders end with `/`; anything else is one file. */
  paths: readonly string[];
}

/**
 * The modules the gate holds at {@link FLOOR}. "src/skills signatures" is the code that decides
 * whether a skill folder is the one its publisher signed: the file manifest and its hashes
 * (manifest.ts), the signature format, signing and verification (signature.ts, sign.ts) and the
 * project's public key (project_key.ts). The rest of src/skills (parsing, loading, registries)
 * is counted in the overall figure.
 */
export const SECURITY_MODULES: readonly SecurityModule[] = [
  { name: "src/ipc", paths: ["src/ipc/"] },
  { name: "src/vault", paths: ["src/vault/"] },
  { name: "src/audit", paths: ["src/audit/"] },
  { name: "src/permissions", paths: ["src/permissions/"] },
  { name: "src/sandbox", paths: ["src/sandbox/"] },
  {
    name: "src/skills signatures",
    paths: [
      "src/skills/manifest.ts",
      "src/skills/signature.ts",
      "src/skills/sign.ts",
      "src/skills/project_key.ts",
    ],
  },
];

/** Line hits of one source file, from an lcov `SF` record. */
export interface FileCoverage {
  /** Repo-relative path with `/` separators. */
  path: string;
  found: number;
  hit: number;
  /** Line numbers with no hits, ascending. */
  missed: number[];
}

/** The lcov report could not be read. */
export class CoverageReportError extends Error {
  /** `message` says what was wrong with the report and how to make a new one. */
  constructor(message: string) {
    super(message);
    this.name = "CoverageReportError";
  }
}

/**
 * Parses lcov text into per-file line coverage, keeping files under `root` only (dependencies
 * from npm have no place in the figures). Line counts come from the `DA` lines rather than
 * `LF`/`LH`, so a report with a stale or missing summary line cannot misstate them.
 */
export function parseLcov(text: string, root: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let current: { path: string; lines: Map<number, number> } | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("SF:")) {
      let file = line.slice(3);
      if (file.startsWith("file://")) file = decodeURIComponent(new URL(file).pathname);
      current = {
        path: relative(root, resolve(root, file)).replaceAll("\\", "/"),
        lines: new Map(),
      };
    } else if (line.startsWith("DA:")) {
      if (!current) throw new CoverageReportError(`lcov: "${line}" outside a file record`);
      const [num, count] = line.slice(3).split(",");
      const n = Number(num);
      const c = Number(count);
      if (!Number.isInteger(n) || !Number.isFinite(c)) {
        throw new CoverageReportError(`lcov: malformed line record "${line}"`);
      }
      current.lines.set(n, Math.max(current.lines.get(n) ?? 0, c));
    } else if (line === "end_of_record") {
      if (!current) throw new CoverageReportError("lcov: end_of_record without a file record");
      if (!current.path.startsWith("../")) {
        const missed = [...current.lines].filter(([, c]) => c === 0).map(([n]) => n)
          .sort((a, b) => a - b);
        files.push({
          path: current.path,
          found: current.lines.size,
          hit: current.lines.size - missed.length,
          missed,
        });
      }
      current = null;
    }
  }
  if (current) throw new CoverageReportError("lcov: the last file record has no end_of_record");
  return files;
}

/** True for a file that belongs to `module`. */
export function inModule(path: string, module: SecurityModule): boolean {
  return module.paths.some((p) => p.endsWith("/") ? path.startsWith(p) : path === p);
}

/** True for test code, which is never counted. */
export function isTestFile(path: string): boolean {
  return /_test\.tsx?$/.test(path) || path.startsWith("tests/");
}

/** The figure of one row of the table. */
export interface ModuleResult {
  name: string;
  found: number;
  hit: number;
  /** `null` when the module has no executable line at all. */
  percent: number | null;
  /** Files of the module that no test loaded (they are in no coverage profile). */
  unloaded: string[];
  /** The least covered files, worst first, to tell the reader where to add tests. */
  worst: FileCoverage[];
  ok: boolean;
}

/** The whole verdict. */
export interface GateResult {
  modules: ModuleResult[];
  overall: { found: number; hit: number; percent: number | null };
  ok: boolean;
}

function percent(hit: number, found: number): number | null {
  return found === 0 ? null : (hit / found) * 100;
}

/**
 * Applies the gate. `sources` lists the repo-relative source files of each module on disk, so a
 * file that no test imported (and that is therefore missing from the report) fails the gate
 * instead of silently raising the figure.
 */
export function evaluate(
  files: readonly FileCoverage[],
  sources: readonly string[],
  modules: readonly SecurityModule[] = SECURITY_MODULES,
  floor: number = FLOOR,
): GateResult {
  const counted = files.filter((f) => !isTestFile(f.path));
  const seen = new Set(counted.map((f) => f.path));
  const results = modules.map((m): ModuleResult => {
    const mine = counted.filter((f) => inModule(f.path, m));
    const found = mine.reduce((s, f) => s + f.found, 0);
    const hit = mine.reduce((s, f) => s + f.hit, 0);
    const unloaded = sources.filter((s) => inModule(s, m) && !isTestFile(s) && !seen.has(s))
      .sort();
    const p = percent(hit, found);
    const worst = mine.filter((f) => f.hit < f.found)
      .sort((a, b) => a.hit / a.found - b.hit / b.found).slice(0, 3);
    return {
      name: m.name,
      found,
      hit,
      percent: p,
      unloaded,
      worst,
      ok: p !== null && p >= floor && unloaded.length === 0,
    };
  });
  const found = counted.reduce((s, f) => s + f.found, 0);
  const hit = counted.reduce((s, f) => s + f.hit, 0);
  return {
    modules: results,
    overall: { found, hit, percent: percent(hit, found) },
    ok: results.every((r) => r.ok),
  };
}

function pct(p: number | null): string {
  return p === null ? "  n/a" : `${p.toFixed(1).padStart(5)}%`;
}

/** The table and, for every failing module, what is wrong and what to do. */
export function render(result: GateResult, floor: number = FLOOR): string {
  const width = Math.max(
    ...result.modules.map((m) => m.name.length),
    "overall (all source)".length,
  );
  const out = [
    `line coverage (security modules must reach ${floor}%)`,
    `  ${"module".padEnd(width)}  lines        covered`,
  ];
  for (const m of result.modules) {
    out.push(
      `  ${m.name.padEnd(width)}  ${`${m.hit}/${m.found}`.padEnd(11)}  ${pct(m.percent)}  ${
        m.ok ? "ok" : "FAIL"
      }`,
    );
  }
  const o = result.overall;
  out.push(
    `  ${"overall (all source)".padEnd(width)}  ${`${o.hit}/${o.found}`.padEnd(11)}  ${
      pct(o.percent)
    }`,
  );
  for (const m of result.modules.filter((m) => !m.ok)) {
    if (m.percent === null) {
      out.push(`coverage gate: ${m.name} has no covered source at all; no test loaded it.`);
    } else if (m.percent < floor) {
      out.push(
        `coverage gate: ${m.name} is at ${m.percent.toFixed(1)}% of lines, under the ${floor}% ` +
          `floor; add tests that exercise its untested paths. Least covered:`,
      );
      for (const f of m.worst) {
        const lines = f.missed.slice(0, 12).join(",") + (f.missed.length > 12 ? ",..." : "");
        out.push(`  ${f.path}  ${pct((f.hit / f.found) * 100)}  missed lines ${lines}`);
      }
    }
    for (const u of m.unloaded) {
      out.push(
        `coverage gate: ${u} (${m.name}) was loaded by no test, so none of it is tested; ` +
          `add a test that imports and exercises it.`,
      );
    }
  }
  out.push(result.ok ? "coverage gate: ok" : "coverage gate: FAILED");
  return out.join("\n");
}

/**
 * True when `source` has code that runs: V8 reports nothing for a module of interfaces and type
 * aliases (its imports are erased), so such a file is legitimately absent from every profile.
 * A heuristic over the text with comments removed: any value declaration, value import or
 * re-export counts as code.
 */
export function hasRuntimeCode(source: string): boolean {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  return /\b(function|class|const|let|var|enum)\s/.test(code) ||
    /^\s*export\s*(\*|\{|default)/m.test(code) ||
    /^\s*import\s+(?!type\b)/m.test(code);
}

/** Repo-relative `.ts` files under the folders and files of `modules` that have runtime code. */
export async function listSources(
  root: string,
  modules: readonly SecurityModule[] = SECURITY_MODULES,
): Promise<string[]> {
  const found = new Set<string>();
  const add = async (rel: string): Promise<void> => {
    let text: string;
    try {
      text = await Deno.readTextFile(resolve(root, rel));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new CoverageReportError(
        `${rel} is listed as security code but does not exist; update SECURITY_MODULES in ` +
          `tests/coverage/gate.ts (and README's testing section) to name what replaced it`,
      );
    }
    if (hasRuntimeCode(text)) found.add(rel);
  };
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(resolve(root, rel))) {
      const child = `${rel}${e.name}`;
      if (e.isDirectory) await walk(`${child}/`);
      else if (e.isFile && /\.tsx?$/.test(e.name)) await add(child);
    }
  };
  for (const m of modules) {
    for (const p of m.paths) {
      if (p.endsWith("/")) await walk(p);
      else await add(p);
    }
  }
  return [...found].sort();
}

/**
 * Runs `deno coverage --lcov` over `dir`. A profile a test's child wrote while it was being
 * killed (the crash tests use kill -9) can be empty or cut short; deno coverage then refuses
 * the whole folder, so such files are deleted and counted (`dropped`), never silently kept.
 */
export async function lcovOf(
  dir: string,
  denoPath: string = Deno.execPath(),
): Promise<{ lcov: string; dropped: string[] }> {
  const dropped: string[] = [];
  const root = resolve(dir);
  for (;;) {
    const out = await new Deno.Command(denoPath, {
      args: ["coverage", dir, "--lcov"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return { lcov: new TextDecoder().decode(out.stdout), dropped };
    const err = new TextDecoder().decode(out.stderr).trim();
    const bad = /Failed reading '([^']+\.json)'/.exec(err)?.[1];
    // Only profiles inside the folder are dropped, and only a bounded number of them.
    if (bad && resolve(bad).startsWith(root + "/") && dropped.length < 100) {
      await Deno.remove(bad);
      dropped.push(bad);
      continue;
    }
    throw new CoverageReportError(
      `deno coverage ${dir} failed: ${err}\nrun the tests with --coverage=${dir} first`,
    );
  }
}

async function main(args: string[]): Promise<number> {
  let root = resolve(new URL("../../", import.meta.url).pathname);
  if (args[0] === "--root" && args[1]) {
    root = resolve(args[1]);
    args = args.slice(2);
  }
  const write = (s: string, to: typeof Deno.stdout | typeof Deno.stderr) =>
    to.writeSync(new TextEncoder().encode(s + "\n"));
  let text: string;
  if (args[0] === "--lcov" && args[1]) text = await Deno.readTextFile(args[1]);
  else if (args.length === 1 && !args[0].startsWith("-")) {
    const { lcov, dropped } = await lcovOf(args[0]);
    if (dropped.length) {
      write(
        `coverage gate: left out ${dropped.length} unreadable profile(s) of processes killed ` +
          `mid-write (kill -9 tests)`,
        Deno.stdout,
      );
    }
    text = lcov;
  } else {
    write("usage: gate.ts [--root <repo>] (<coverage dir> | --lcov <file>)", Deno.stderr);
    return 2;
  }
  const result = evaluate(parseLcov(text, root), await listSources(root));
  write(render(result), Deno.stdout);
  return result.ok ? 0 : 1;
}

if (import.meta.main) {
  main(Deno.args).then((code) => Deno.exit(code), (e) => {
    Deno.stderr.writeSync(new TextEncoder().encode(`coverage gate: ${e.message}\n`));
    Deno.exit(2);
  });
}
