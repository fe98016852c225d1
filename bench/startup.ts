/**
 * Start-up time of `wirken --version` and `wirken --help`, run from source as a user would.
 *
 * @module
 */
import { summarize, type Summary } from "./stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function timeOnce(args: string[]): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", `${ROOT}main.ts`, ...args],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error(`wirken ${args.join(" ")} failed`);
  return performance.now() - start;
}

/** Milliseconds from process spawn to exit, `runs` times each (after one warm-up run). */
export async function benchStartup(runs = 10): Promise<Record<string, Summary>> {
  const results: Record<string, Summary> = {};
  for (const args of [["--version"], ["--help"]]) {
    await timeOnce(args);
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) samples.push(await timeOnce(args));
    results[`cli ${args.join(" ")} (ms)`] = summarize(samples);
  }
  return results;
}
