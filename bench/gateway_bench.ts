/**
 * The whole gateway, as a user runs it: cold start of `wirken run` (no adapters) until WebChat
 * answers, RSS of the process idle and after a burst of turns, and the round trip of one
 * WebChat message through router, agent and an instant fake model, at 1 and at 50 concurrent
 * conversations.
 *
 * @module
 */
import { summarize, type Summary } from "./stats.ts";
import { fakeChat } from "../tests/fakes/openai_chat.ts";
import { startGateway, tempDataDir } from "../tests/cli/helpers.ts";
import { recordDistribution } from "./plot.ts";
import { processTree } from "./proc.ts";

/** The vault settings of every benchmark gateway (passphrase backend, default scrypt cost). */
export const ENV = {
  WIRKEN_VAULT_BACKEND: "passphrase",
  WIRKEN_VAULT_PASSPHRASE: "bench-passphrase",
};

/** A fresh data dir configured for the instant fake model at `baseUrl`, limits out of the way. */
export async function prepare(baseUrl: string): Promise<string> {
  const dataDir = await tempDataDir();
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({
      provider: { kind: "custom", model: "m", baseUrl },
      // The bench measures the path, not the limiter: let every message through.
      limits: {
        messagesPerMinute: 1_000_000,
        channelMessagesPerMinute: 1_000_000,
        globalMessagesPerMinute: 1_000_000,
      },
    }),
  );
  return dataDir;
}

/** RSS of the gateway and anything it started (read through `cat`: see proc.ts). */
async function rssMiB(pid: number): Promise<number> {
  return (await processTree(pid)).rssMiB;
}

/** Follows WebChat's login link; returns the session cookie. */
export async function login(loginUrl: string): Promise<string> {
  const res = await fetch(loginUrl.replace("localhost", "127.0.0.1"), { redirect: "manual" });
  await res.body?.cancel();
  return (res.headers.get("set-cookie") ?? "").split(";")[0];
}

/** One WebChat connection that sends turns one after another and times each. */
export async function conversation(port: number, cookie: string, turns: number): Promise<number[]> {
  const origin = `http://localhost:${port}`;
  const ws = new WebSocket(`ws://localhost:${port}/ws`, { headers: { cookie, origin } });
  await new Promise((r, j) => {
    ws.onopen = r;
    ws.onerror = () => j(new Error("socket error"));
  });
  const times: number[] = [];
  let sessionId: string | undefined;
  for (let i = 0; i < turns; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === "event" && m.event.type === "session") sessionId = m.event.sessionId;
        if (m.type === "turn_end") resolve();
      };
      ws.send(
        JSON.stringify({
          type: "send",
          turn: `t${i}`,
          agent: "default",
          text: `hello ${i}`,
          sessionId,
        }),
      );
    });
    times.push(performance.now() - start);
  }
  ws.close();
  return times;
}

/** Runs the gateway figures. */
export async function run(): Promise<Record<string, Summary | number>> {
  const model = fakeChat(() => ({ text: "ok" }));
  try {
    const starts: number[] = [];
    // The issue asks for the median of 10.
    for (let i = 0; i < 10; i++) {
      const dataDir = await prepare(model.baseUrl);
      const t0 = performance.now();
      const gw = await startGateway({ dataDir, env: ENV });
      starts.push(performance.now() - t0);
      await gw.stop();
    }
    const dataDir = await prepare(model.baseUrl);
    const gw = await startGateway({ dataDir, env: ENV });
    try {
      const pid = gw.child.pid;
      await new Promise((r) => setTimeout(r, 500));
      const idle = await rssMiB(pid);
      const cookie = await login(/WebChat: (\S+)/.exec(gw.output())![1]);
      const port = Number(new URL(gw.url).port);
      const one = await conversation(port, cookie, 200);
      const t0 = performance.now();
      const many = (await Promise.all(Array.from({ length: 50 }, () =>
        conversation(port, cookie, 20)))).flat();
      const seconds = (performance.now() - t0) / 1000;
      recordDistribution("cold start, passphrase vault, no adapters (ms)", starts);
      recordDistribution("WebChat round trip, 1 conversation (ms)", one);
      recordDistribution("WebChat round trip, 50 conversations (ms)", many);
      return {
        "cold start to WebChat answering, no adapters (ms)": summarize(starts),
        "RSS idle after start (MiB)": Math.round(idle),
        "RSS after 1,200 turns (MiB)": Math.round(await rssMiB(pid)),
        "round trip, 1 conversation (ms)": summarize(one),
        "round trip, 50 conversations (ms)": summarize(many),
        "messages/s across 50 conversations": Math.round(many.length / seconds),
      };
    } finally {
      await gw.stop();
    }
  } finally {
    await model.close();
  }
}

if (import.meta.main) {
  const r = await run();
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r, null, 2) + "\n"));
}
