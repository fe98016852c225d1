/**
 * Resident memory and CPU time of a whole process tree (a gateway and its adapter children),
 * read from `/proc/<pid>/stat`.
 *
 * Deno 2 asks for `--allow-all` to read `/proc`, which `deno task bench` does not grant; running
 * programs is granted, so one `cat` of every stat file gives a consistent snapshot of all of them.
 *
 * @module
 */

/** One process as `/proc/<pid>/stat` describes it. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** Resident set, bytes. */
  rssBytes: number;
  /** User + system CPU time, milliseconds. */
  cpuMs: number;
}

/** The tree under one root pid at one moment. */
export interface TreeSnapshot {
  pids: number[];
  /** Sum of the tree's resident sets, MiB. */
  rssMiB: number;
  /** Sum of the tree's user + system CPU time so far, milliseconds. */
  cpuMs: number;
}

// Linux reports CPU in clock ticks (USER_HZ, 100 on every mainstream kernel) and RSS in pages.
const TICK_MS = 10;
const PAGE_BYTES = 4096;

/** Parses one `/proc/<pid>/stat` line (the command name may hold spaces and parentheses). */
export function parseStat(line: string): ProcStat | null {
  const close = line.lastIndexOf(")");
  if (close < 0) return null;
  const pid = Number(line.slice(0, line.indexOf(" ")));
  // Fields after the name, 0-based from field 3 (state): ppid is field 4, utime 14, stime 15,
  // rss 24 (man 5 proc).
  const f = line.slice(close + 2).trim().split(" ");
  const ppid = Number(f[1]);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const rss = Number(f[21]);
  if (![pid, ppid, utime, stime, rss].every(Number.isFinite)) return null;
  return { pid, ppid, rssBytes: rss * PAGE_BYTES, cpuMs: (utime + stime) * TICK_MS };
}

/** Every process's stat line, in one `cat` run. */
async function allStats(): Promise<ProcStat[]> {
  const out = await new Deno.Command("sh", {
    args: ["-c", "cat /proc/[0-9]*/stat 2>/dev/null"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const stats: ProcStat[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const s = line ? parseStat(line) : null;
    if (s) stats.push(s);
  }
  return stats;
}

/** Sums `stats` over `root` and all its descendants. */
export function treeOf(stats: readonly ProcStat[], root: number): TreeSnapshot {
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const self = stats.find((s) => s.pid === root);
  if (!self) return { pids: [], rssMiB: 0, cpuMs: 0 };
  const tree: ProcStat[] = [];
  const queue = [self];
  while (queue.length > 0) {
    const s = queue.shift()!;
    tree.push(s);
    queue.push(...(children.get(s.pid) ?? []));
  }
  return {
    pids: tree.map((s) => s.pid),
    rssMiB: tree.reduce((a, s) => a + s.rssBytes, 0) / 2 ** 20,
    cpuMs: tree.reduce((a, s) => a + s.cpuMs, 0),
  };
}

/** A snapshot of the process tree under `root`. */
export async function processTree(root: number): Promise<TreeSnapshot> {
  return treeOf(await allStats(), root);
}

/** Samples the tree's RSS every `everyMs` until stopped; `stop()` returns the peak in MiB. */
export function peakSampler(root: number, everyMs = 100): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, (await processTree(root)).rssMiB);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}
