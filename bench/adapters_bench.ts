/**
 * The gateway with all six channel adapters, each a real adapter process talking to its fake
 * platform (tests/fakes): cold start of `wirken run` until every adapter is connected, RSS of
 * the whole process tree (gateway + adapters) idle, after 1,000 messages and at the peak of a
 * burst, and the message round trip through the whole path: fake Telegram -> real Telegram
 * adapter process -> IPC -> router -> agent with an instant fake model -> back out to fake
 * Telegram. Round trips at 1 and at 50 concurrent conversations, messages/s sustained over a
 * fixed time, and CPU per message of the whole tree.
 *
 * `deno run -A bench/adapters_bench.ts --duration 60` runs the sustained phase for the issue's
 * 60 s; `deno task bench` keeps it at 10 s so the suite stays bounded.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { summarize, type Summary } from "./stats.ts";
import { recordDistribution } from "./plot.ts";
import { peakSampler, processTree } from "./proc.ts";
import { fakeChat, type Step } from "../tests/fakes/openai_chat.ts";
import { dm, type FakeTelegram, fakeTelegram } from "../tests/fakes/telegram.ts";
import { fakeDiscord } from "../tests/fakes/discord.ts";
import { fakeSlack } from "../tests/fakes/slack.ts";
import { fakeBotFramework } from "../tests/fakes/botframework.ts";
import { fakeHomeserver } from "../tests/fakes/matrix_homeserver.ts";
import { fakeGraph } from "../tests/fakes/whatsapp_graph.ts";
import { RUN_FLAGS } from "../tests/cli/helpers.ts";
import { generateAdapterKey } from "../src/ipc/keys.ts";
import { createLogger } from "../src/log/logger.ts";
import { Secret } from "../src/secret.ts";
import { openVault } from "../src/vault/open.ts";
import { credentialNames } from "../src/vault/types.ts";
import type { Channel } from "../src/config/schema.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PASSPHRASE = "bench-passphrase-six-adapters";

/** Telegram user ids allowed to talk to the bot: one per conversation. */
const OWNERS = Array.from({ length: 50 }, (_, i) => 4_100_000 + i);

/** Sizes of {@linkcode adaptersBench}; the defaults are what `deno task bench` uses. */
export interface AdaptersBenchOptions {
  /** Cold starts measured (the issue asks for the median of 10). */
  starts?: number;
  /** Sequential round trips in one conversation. */
  single?: number;
  /** Seconds of the sustained 50-conversation phase. */
  durationSeconds?: number;
  /** Messages handled in all before the "after N messages" RSS reading (at least). */
  totalMessages?: number;
}

/** The fake model answers "reply <the user's last message>", at once. */
function echo(_n: number, body: Record<string, unknown>): Step {
  const messages = (body.messages ?? []) as { role: string; content?: unknown }[];
  const last = [...messages].reverse().find((m) => m.role === "user");
  return { text: `reply ${String(last?.content)}` };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The six fake platforms, the channel credentials they accept and the env pointing at them. */
export async function startPlatforms(): Promise<{
  tg: FakeTelegram;
  credentials: Record<string, string>;
  env: Record<string, string>;
  close(): Promise<void>;
}> {
  const tg = fakeTelegram();
  const dc = fakeDiscord();
  const sl = fakeSlack();
  const bf = await fakeBotFramework({ appId: "bench-app", appPassword: "bench-app-password" });
  const hs = fakeHomeserver({ userId: "@wirken:fake.test", accessToken: "syt_bench" });
  const wa = fakeGraph();
  const credentials: Record<string, string> = {
    "channel.telegram.token": tg.token,
    "channel.discord.token": dc.token,
    "channel.slack.bot_token": sl.botToken,
    "channel.slack.app_token": sl.appToken,
    "channel.teams.app_id": "bench-app",
    "channel.teams.app_password": "bench-app-password",
    "channel.matrix.access_token": "syt_bench",
    "channel.matrix.user_id": "@wirken:fake.test",
    "channel.whatsapp.access_token": "wa-bench-token",
    "channel.whatsapp.app_secret": "wa-bench-secret",
    "channel.whatsapp.verify_token": "wa-bench-verify",
    "channel.whatsapp.phone_number_id": "PN1",
  };
  const env: Record<string, string> = {
    TELEGRAM_API_ROOT: tg.url,
    DISCORD_API_BASE: dc.apiBase,
    SLACK_API_URL: sl.apiUrl,
    TEAMS_SERVICE_URL: bf.url,
    TEAMS_OPENID_URL: bf.openIdUrl,
    TEAMS_AUTH_URL: bf.authUrl,
    TEAMS_LISTEN_PORT: String(freePort()),
    MATRIX_HOMESERVER_URL: hs.url,
    WHATSAPP_GRAPH_URL: wa.url,
    WHATSAPP_LISTEN_PORT: String(freePort()),
  };
  return {
    tg,
    credentials,
    env,
    async close() {
      await Promise.allSettled([tg, dc, sl, bf, hs, wa].map((f) => f.close()));
    },
  };
}

/** A data dir with a passphrase vault holding every credential and adapter key. */
export async function prepare(
  channels: readonly Channel[],
  credentials: Record<string, string>,
  modelUrl: string,
): Promise<{ base: string; dataDir: string }> {
  const base = await Deno.makeTempDir({ prefix: "wirken-bench-adapters-" });
  const dataDir = join(base, "data");
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const vault = await openVault({
    dataDir,
    env: new Map([["WIRKEN_VAULT_BACKEND", "passphrase"], [
      "WIRKEN_VAULT_PASSPHRASE",
      PASSPHRASE,
    ]]),
    log: createLogger({ terminal: null }),
  });
  const channelConfig: Record<string, unknown> = {};
  for (const ch of channels) {
    const key = await generateAdapterKey();
    vault.set(credentialNames.adapterKey(ch), key.seed);
    channelConfig[ch] = {
      enabled: true,
      publicKey: key.publicKeyBase64,
      allowFrom: ch === "telegram" ? OWNERS.map(String) : ["owner"],
    };
  }
  for (const [name, value] of Object.entries(credentials)) vault.set(name, new Secret(value));
  vault.close();
  await Deno.writeTextFile(
    join(dataDir, "config.json"),
    JSON.stringify({
      provider: { kind: "custom", model: "fake-model", baseUrl: modelUrl },
      channels: channelConfig,
      // The bench measures the path, not the limiter: let every message through.
      limits: {
        messagesPerMinute: 1_000_000,
        channelMessagesPerMinute: 1_000_000,
        globalMessagesPerMinute: 1_000_000,
      },
    }),
    { mode: 0o600 },
  );
  return { base, dataDir };
}

/** A running `wirken run` child. */
export interface Child {
  child: Deno.ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function spawn(dataDir: string, env: Record<string, string>): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, "run", "--port", "0"],
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      WIRKEN_VAULT_BACKEND: "passphrase",
      WIRKEN_VAULT_PASSPHRASE: PASSPHRASE,
      ...env,
      WIRKEN_DATA_DIR: dataDir,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) text += decoder.decode(c, { stream: true });
  };
  const pumping = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    child,
    output: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await pumping;
    },
  };
}

function connectedChannels(dataDir: string): Set<string> {
  try {
    const s = JSON.parse(Deno.readTextFileSync(join(dataDir, "sockets", "status.json"))) as {
      adapters?: { channel: string; connected: boolean }[];
    };
    return new Set((s.adapters ?? []).filter((a) => a.connected).map((a) => a.channel));
  } catch {
    return new Set();
  }
}

/**
 * Starts the gateway and resolves once WebChat's banner is printed and every one of `channels`
 * is connected; returns the two moments in ms from spawn.
 */
export async function coldStart(
  dataDir: string,
  env: Record<string, string>,
  channels: readonly Channel[],
): Promise<{ gw: Child; bannerMs: number; readyMs: number }> {
  const t0 = performance.now();
  const gw = spawn(dataDir, env);
  let bannerMs = 0;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!bannerMs && /WebChat: http/.test(gw.output())) bannerMs = performance.now() - t0;
    if (bannerMs && channels.every((c) => connectedChannels(dataDir).has(c))) break;
    if (Date.now() > deadline) {
      await gw.stop();
      throw new Error(`gateway with ${channels.length} adapters not ready:\n${gw.output()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { gw, bannerMs, readyMs: performance.now() - t0 };
}

/** Resolves each reply sent on fake Telegram to the conversation waiting for it. */
function replies(tg: FakeTelegram) {
  const waiting = new Map<string, () => void>();
  const push = tg.calls.push.bind(tg.calls);
  tg.calls.push = (...items) => {
    for (const c of items) {
      if (c.method !== "sendMessage") continue;
      const key = `${c.params.chat_id}|${c.params.text}`;
      waiting.get(key)?.();
      waiting.delete(key);
    }
    return push(...items);
  };
  let n = 0;
  /** Sends one DM from `owner` and resolves with the round trip in ms when its reply lands. */
  return async (owner: number): Promise<number> => {
    const text = `m${n++}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = new Promise<void>((resolve, reject) => {
      waiting.set(`${owner}|reply ${text}`, resolve);
      timer = setTimeout(
        () => reject(new Error(`no reply to "${text}" within 30 s (adapter cut off?)`)),
        30_000,
      );
    });
    const t0 = performance.now();
    tg.push(dm(owner, text));
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
    return performance.now() - t0;
  };
}

/** Every channel, each with its adapter process. */
export const ALL: readonly Channel[] = [
  "telegram",
  "discord",
  "slack",
  "teams",
  "matrix",
  "whatsapp",
];

/** Runs the six-adapter figures. */
export async function adaptersBench(
  o: AdaptersBenchOptions = {},
): Promise<Record<string, Summary | number>> {
  const starts = o.starts ?? 10;
  const single = o.single ?? 300;
  const seconds = o.durationSeconds ?? 10;
  const model = fakeChat(echo);
  const platforms = await startPlatforms();
  const { base, dataDir } = await prepare(ALL, platforms.credentials, model.baseUrl);
  try {
    const out: Record<string, Summary | number> = {};
    const banner: number[] = [];
    const ready: number[] = [];
    const treeIdle: number[] = [];
    for (let i = 0; i < starts; i++) {
      const { gw, bannerMs, readyMs } = await coldStart(dataDir, platforms.env, ALL);
      banner.push(bannerMs);
      ready.push(readyMs);
      if (i === starts - 1) {
        await new Promise((r) => setTimeout(r, 1000));
        treeIdle.push((await processTree(gw.child.pid)).rssMiB);
      }
      await gw.stop();
    }
    out["cold start to WebChat banner, 6 adapters (ms)"] = summarize(banner);
    out["cold start to all 6 adapters connected (ms)"] = summarize(ready);
    recordDistribution("cold start, 6 adapters connected (ms)", ready);

    const { gw } = await coldStart(dataDir, platforms.env, ALL);
    try {
      const pid = gw.child.pid;
      await new Promise((r) => setTimeout(r, 1000));
      const idle = await processTree(pid);
      out["process tree size idle (processes)"] = idle.pids.length;
      out["RSS of the tree idle, 6 adapters (MiB)"] = Math.round(idle.rssMiB);
      const send = replies(platforms.tg);
      for (let i = 0; i < 20; i++) await send(OWNERS[0]); // warm-up: JIT, SQLite caches
      const cpu0 = (await processTree(pid)).cpuMs;
      const one: number[] = [];
      for (let i = 0; i < single; i++) one.push(await send(OWNERS[0]));
      const cpu1 = (await processTree(pid)).cpuMs;
      out["round trip via Telegram adapter, 1 conversation (ms)"] = summarize(one);
      out["CPU of the tree per message, 1 conversation (ms)"] = (cpu1 - cpu0) / single;
      recordDistribution("Telegram adapter round trip, 1 conversation (ms)", one);

      // 50 conversations, each sending its next message as soon as the last was answered.
      const peak = peakSampler(pid);
      const many: number[] = [];
      const t0 = performance.now();
      const until = t0 + seconds * 1000;
      // A message with no reply in 30 s counts as lost (the IPC frame-rate limit cuts an
      // adapter off under sustained load above 500 frames/s; see NOTES.md), and its
      // conversation goes on.
      let lost = 0;
      await Promise.all(OWNERS.map(async (owner) => {
        while (performance.now() < until) {
          try {
            many.push(await send(owner));
          } catch {
            lost++;
          }
        }
      }));
      out["messages lost in the sustained phase (no reply within 30 s)"] = lost;
      const elapsed = (performance.now() - t0) / 1000;
      const cpu2 = (await processTree(pid)).cpuMs;
      out["peak RSS of the tree during the burst (MiB)"] = Math.round(await peak.stop());
      out["round trip via Telegram adapter, 50 conversations (ms)"] = summarize(many);
      out["messages/s sustained across 50 conversations"] = Math.round(many.length / elapsed);
      out["sustained phase (s)"] = Math.round(elapsed);
      out["CPU of the tree per message, 50 conversations (ms)"] = (cpu2 - cpu1) / many.length;
      recordDistribution("Telegram adapter round trip, 50 conversations (ms)", many);
      const total = 20 + single + many.length;
      // At least 1,000 messages since start, so the figure reads the same on every run.
      let extra = 0;
      while (total + extra < (o.totalMessages ?? 1000)) {
        extra += (await send(OWNERS[extra % 50])) >= 0 ? 1 : 0;
      }
      await new Promise((r) => setTimeout(r, 1000));
      out["messages handled before the next figure"] = total + extra;
      out["RSS of the tree after those messages (MiB)"] = Math.round(
        (await processTree(pid)).rssMiB,
      );
    } finally {
      await gw.stop();
    }
    return out;
  } finally {
    await platforms.close();
    await model.close();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

/** Entry point used by `bench/run.ts` (`--duration N` arrives as `durationSeconds`). */
export function run(o: AdaptersBenchOptions = {}): Promise<Record<string, Summary | number>> {
  return adaptersBench(o);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { duration: { type: "string" }, starts: { type: "string" } },
  });
  const r = await adaptersBench({
    durationSeconds: Number(values.duration ?? 10),
    starts: Number(values.starts ?? 10),
  });
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r, null, 2) + "\n"));
}
