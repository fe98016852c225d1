/**
 * `deno task bench`: runs every benchmark that needs no network and writes
 * `bench/results.json` and the human table `bench/RESULTS.md`.
 *
 * Timing is measured here, never asserted in tests: the machines are shared and noisy.
 *
 * @module
 */
import { benchStartup } from "./startup.ts";
import type { Summary } from "./stats.ts";

/** A benchmark module contributes named figures. */
type Suite = () => Promise<Record<string, Summary | number>>;

const suites: Record<string, Suite> = {
  startup: () => benchStartup(10),
};

// Later rooms add `bench/<room>_bench.ts` exporting `run()`; pick them up when present.
for await (const entry of Deno.readDir(new URL("./", import.meta.url))) {
  const m = /^(\w+)_bench\.ts$/.exec(entry.name);
  if (!m) continue;
  const mod = await import(`./${entry.name}`);
  if (typeof mod.run === "function") suites[m[1]] = mod.run as Suite;
}

const results: Record<string, Record<string, Summary | number>> = {};
for (const [name, suite] of Object.entries(suites)) {
  const write = (t: string) => Deno.stderr.writeSync(new TextEncoder().encode(t));
  write(`bench: ${name} ... `);
  try {
    results[name] = await suite();
    write("done\n");
  } catch (e) {
    write(`failed: ${(e as Error).message}\n`);
  }
}

const machine = {
  os: `${Deno.build.os} ${Deno.build.arch}`,
  cpus: navigator.hardwareConcurrency,
  memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
  deno: Deno.version.deno,
  date: new Date().toISOString(),
};
const dir = new URL("./", import.meta.url);
await Deno.writeTextFile(
  new URL("results.json", dir),
  JSON.stringify({ machine, results }, null, 2) + "\n",
);

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
const lines = [
  "# Benchmark results",
  "",
  `Machine: ${machine.os}, ${machine.cpus} cores, ${machine.memoryGiB} GiB; Deno ${machine.deno}; ${machine.date}`,
  "",
  "| suite | figure | n | median | p99 | min |",
  "|---|---|---|---|---|---|",
];
for (const [suite, figures] of Object.entries(results)) {
  for (const [name, v] of Object.entries(figures)) {
    lines.push(
      typeof v === "number"
        ? `| ${suite} | ${name} | 1 | ${fmt(v)} | | |`
        : `| ${suite} | ${name} | ${v.n} | ${fmt(v.median)} | ${fmt(v.p99)} | ${fmt(v.min)} |`,
    );
  }
}
await Deno.writeTextFile(new URL("RESULTS.md", dir), lines.join("\n") + "\n");
Deno.stdout.writeSync(new TextEncoder().encode(lines.join("\n") + "\n"));
