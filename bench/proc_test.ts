import { assert, assertEquals } from "../tests/assert.ts";
import { parseStat, processTree, treeOf } from "./proc.ts";

Deno.test("parseStat: a command name with spaces and parentheses does not shift the fields", () => {
  // pid (comm) state ppid ... utime(14) stime(15) ... rss(24)
  const rest = Array.from({ length: 50 }, (_, i) => String(i));
  rest[0] = "S";
  rest[1] = "7"; // ppid
  rest[11] = "30"; // utime
  rest[12] = "12"; // stime
  rest[21] = "256"; // rss pages
  const s = parseStat(`42 (deno (x) y) ${rest.join(" ")}`);
  assertEquals(s, { pid: 42, ppid: 7, rssBytes: 256 * 4096, cpuMs: 420 });
});

Deno.test("treeOf: sums a root and its descendants, not its siblings", () => {
  const p = (pid: number, ppid: number) => ({ pid, ppid, rssBytes: 2 ** 20, cpuMs: 10 });
  const t = treeOf([p(1, 0), p(2, 1), p(3, 2), p(4, 1), p(5, 0), p(6, 5)], 2);
  assertEquals([t.pids, t.rssMiB, t.cpuMs], [[2, 3], 2, 20]);
  assertEquals(treeOf([p(1, 0)], 9).pids, []);
});

Deno.test("processTree: a real child shows up under this process with memory", async () => {
  const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
  try {
    const t = await processTree(Deno.pid);
    assert(t.pids.includes(child.pid), `child ${child.pid} in ${t.pids}`);
    assert(t.rssMiB > 10, `rss ${t.rssMiB}`);
  } finally {
    child.kill();
    await child.status;
  }
});
