/**
 * The end-to-end harness: a private home with `~/.wirken` as the data directory, a real vault
 * (passphrase backend) with a known canary value in every slot, the real `wirken run` in a
 * child process with the environment a user would give it, WebChat driven over its WebSocket,
 * a scripted fake model, a recording SIEM webhook, and the final sweep that greps every file,
 * log, capture and output for the canaries.
 *
 * Every e2e test builds one {@linkcode E2e} and ends with {@linkcode E2e.finish}, so the
 * secrets canary of issue 16 runs over the whole suite, test by test.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { RUN_FLAGS } from "../cli/helpers.ts";
import { coverageEnv } from "../coverage/env.ts";
import { type FakeChat, fakeChat, type Step } from "../fakes/openai_chat.ts";
import { testVaultOptions } from "../vault/helpers.ts";
import { openVault } from "../../src/vault/open.ts";
import { credentialNames } from "../../src/vault/types.ts";
import { Secret } from "../../src/secret.ts";
import { generateAdapterKey } from "../../src/ipc/keys.ts";
import { MANIFESTS } from "../../adapters/shared/manifests.ts";
import { type Channel, CHANNELS } from "../../src/config/schema.ts";
import { openAuditLog } from "../../src/audit/log.ts";
import type { AuditEvent } from "../../src/audit/chain.ts";

/** Repository root. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** A request the recording server saw. */
export interface Captured {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A loopback HTTP server recording every request (the attacker, the SIEM). */
export interface Recorder {
  url: string;
  port: number;
  requests: Captured[];
  close(): Promise<void>;
}

/** Starts a {@linkcode Recorder} answering `status` to everything. */
export function recorder(status = 200): Recorder {
  const requests: Captured[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests.push({
      method: req.method,
      url: req.url,
      headers: Object.fromEntries(req.headers),
      body: await req.text(),
    });
    return new Response("ok", { status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    requests,
    close: () => server.shutdown(),
  };
}

/** A random, unique, scanner-friendly canary value (24 random base-36 symbols). */
export function canary(label: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const body = [...bytes].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
  return `cnry-${label.replace(/[^a-z]/gi, "").slice(0, 8)}-${body}`;
}

/** Where one DENO_DIR lives, so children with a private HOME reuse the package cache. */
async function denoDir(): Promise<string | undefined> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  try {
    return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  } catch {
    return undefined;
  }
}

/** How a test wants one channel set up. */
export interface ChannelSetup {
  /**
   * `supervised`: the gateway's supervisor runs the real adapter process (its key is in the
   * vault); `held`: the test holds the adapter key and plays the adapter itself (the key is
   * registered in config but not in the vault, so the supervisor leaves the channel alone).
   */
  mode: "supervised" | "held";
  allowFrom?: readonly string[];
}

/** Options of {@linkcode setupE2e}. */
export interface E2eOptions {
  /** The fake model's script (default: answers "ok"). */
  script?: (n: number, body: Record<string, unknown>) => Step;
  channels?: Partial<Record<Channel, ChannelSetup>>;
  /** Merged into config.json. */
  config?: Record<string, unknown>;
  /** Config of the default agent (merged). */
  agent?: Record<string, unknown>;
  /** Forward the audit log to a recording SIEM webhook (default true). */
  siem?: boolean;
  /**
   * Vault values to use instead of fresh canaries (a fake platform's token); they are still
   * swept for as canaries.
   */
  vaultValues?: Record<string, string>;
  /** More environment for the gateway (e.g. a fake platform's API base). */
  env?: Record<string, string>;
}

/** A running WebChat connection. */
export interface WebChat {
  /** Every frame received, parsed. */
  frames: WsFrame[];
  send(frame: Record<string, unknown>): void;
  /** Resolves with the first frame (from `from` on) matching `pred`. */
  waitFor(pred: (f: WsFrame) => boolean, timeoutMs?: number, from?: number): Promise<WsFrame>;
  close(): Promise<void>;
}

/** A frame of the WebChat socket protocol (only the fields the tests read). */
export interface WsFrame {
  type: string;
  turn?: string;
  stopped?: boolean;
  message?: string;
  event?: { type: string; [k: string]: unknown };
  pending?: PendingView[];
}

/** A pending approval as WebChat shows it. */
export interface PendingView {
  id: string;
  tool: string;
  tier: number;
  args: unknown;
  sandbox: string;
  channel: string;
  session: string;
}

/** What one WebChat turn produced. */
export interface TurnOutcome {
  text: string;
  events: { type: string; [k: string]: unknown }[];
  approvals: PendingView[];
  stopped: boolean;
}

/** One e2e environment. */
export interface E2e {
  home: string;
  /** `~/.wirken`. */
  data: string;
  workspace: string;
  passphrase: string;
  /** Vault slot name -> canary value (plus `env:WIRKEN_VAULT_PASSPHRASE`). */
  canaries: Map<string, string>;
  /** Seeds of the channels the test holds itself. */
  heldKeys: Partial<Record<Channel, Secret>>;
  model: FakeChat;
  siem: Recorder | null;
  /** The gateway child's environment. */
  env: Record<string, string>;
  gateway: GatewayProcess | null;
  /** Starts `wirken run` (again, after a crash). */
  start(): Promise<GatewayProcess>;
  /** Opens a logged-in WebChat socket on the running gateway. */
  webchat(): Promise<WebChat>;
  /**
   * Runs one WebChat turn; every approval prompt is answered by `decide` (default: deny).
   */
  turn(
    chat: WebChat,
    text: string,
    decide?: (a: PendingView) => "once" | "remember" | "deny",
    timeoutMs?: number,
    sessionId?: string,
  ): Promise<TurnOutcome>;
  /** Runs `wirken <args>` against the same data dir and environment. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Every audit event (opens the log read-side; fine while the gateway runs: WAL). */
  auditEvents(): AuditEvent[];
  /**
   * Stops the gateway (if running), checks the audit chain, sweeps every file and capture for
   * the canaries, closes the fakes and removes the home. `extra` are more texts to sweep.
   */
  finish(extra?: string[]): Promise<void>;
  /** Closes everything without checks (used when a test already failed). */
  abort(): Promise<void>;
}

/** A `wirken run` child. */
export interface GatewayProcess {
  child: Deno.ChildProcess;
  pid: number;
  /** `http://localhost:<port>` (the exact origin WebChat checks). */
  url: string;
  port: number;
  loginUrl: string;
  /** Everything it printed so far. */
  output(): string;
  stop(signal?: Deno.Signal): Promise<number>;
}

/** Polls `cond` until it holds. */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function spawnGateway(e: { env: Record<string, string> }): Promise<GatewayProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, "run", "--port", "0"],
    cwd: ROOT,
    clearEnv: true,
    env: e.env,
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
  let status: Deno.CommandStatus | null = null;
  child.status.then((s) => (status = s));
  const login = /WebChat: (http:\/\/localhost:(\d+)\/login\?token=\S+)/;
  try {
    await waitUntil(() => login.test(text) || status !== null, 30_000, "the gateway banner");
  } catch (err) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`gateway did not start: ${err}\n${text}`);
  }
  const m = login.exec(text);
  if (!m) {
    await pumping;
    throw new Error(`gateway exited before its banner:\n${text}`);
  }
  return {
    child,
    pid: child.pid,
    url: `http://localhost:${m[2]}`,
    port: Number(m[2]),
    loginUrl: m[1],
    output: () => text,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const s = await child.status;
      await pumping;
      return s.code;
    },
  };
}

async function openWebChat(gw: GatewayProcess): Promise<WebChat> {
  const res = await fetch(gw.loginUrl, { redirect: "manual" });
  await res.body?.cancel();
  assertEquals(res.status, 303, "login link accepted");
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0];
  const ws = new WebSocket(`ws://localhost:${gw.port}/ws`, {
    headers: { cookie, origin: gw.url },
  });
  const frames: WsFrame[] = [];
  const waiters = new Set<() => void>();
  ws.onmessage = (m) => {
    frames.push(JSON.parse(String(m.data)) as WsFrame);
    for (const w of waiters) w();
  };
  let closed = false;
  const closedP = new Promise<void>((r) =>
    ws.onclose = () => {
      closed = true;
      for (const w of waiters) w();
      r();
    }
  );
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("WebChat socket error"));
  });
  return {
    frames,
    send: (f) => ws.send(JSON.stringify(f)),
    waitFor(pred, timeoutMs = 20_000, from = 0) {
      return new Promise<WsFrame>((resolve, reject) => {
        const check = () => {
          const hit = frames.slice(from).find(pred);
          if (hit) {
            done();
            resolve(hit);
          } else if (closed) {
            done();
            reject(new Error("WebChat socket closed"));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for a WebChat frame`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (!closed) ws.close();
      await closedP;
    },
  };
}

/** Recursively lists regular files under `dir` (sockets and the like are skipped). */
export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await walk(p));
    else if (e.isFile) out.push(p);
  }
  return out;
}

/** Every form of a canary a careless path might write: raw, base64, hex. */
function forms(value: string): string[] {
  const bytes = new TextEncoder().encode(value);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  // The random part alone catches truncated or re-prefixed copies.
  return [value, value.slice(value.lastIndexOf("-") + 1), btoa(value), hex];
}

/** Names of the canary values found in `text` (empty: clean). */
export function canaryHits(canaries: Map<string, string>, text: string): string[] {
  const hits: string[] = [];
  for (const [name, value] of canaries) {
    if (forms(value).some((f) => text.includes(f))) hits.push(name);
  }
  return hits;
}

/** The files the sweep does not read: the vault's own ciphertext and wrapped master key. */
const VAULT_FILES = /\/(vault\.db(-wal|-shm|-journal)?|vault\.key(\.next)?)$/;

/** Builds an e2e environment; nothing runs until `start()`. */
export async function setupE2e(o: E2eOptions = {}): Promise<E2e> {
  const home = await Deno.makeTempDir({ prefix: "wirken-e2e-" });
  const data = join(home, ".wirken");
  await Deno.mkdir(data, { mode: 0o700 });
  const workspace = join(data, "workspace", "default");
  await Deno.mkdir(workspace, { recursive: true, mode: 0o700 });
  await Deno.chmod(join(data, "workspace"), 0o700);
  const passphrase = canary("passphrase");
  const canaries = new Map<string, string>([["env:WIRKEN_VAULT_PASSPHRASE", passphrase]]);
  const heldKeys: Partial<Record<Channel, Secret>> = {};
  const model = fakeChat(o.script);
  const siem = o.siem === false ? null : recorder();

  // The vault: a canary in every slot a configured gateway uses.
  const vault = await openVault(testVaultOptions(data, passphrase));
  const put = (name: string, value = o.vaultValues?.[name] ?? canary(name)) => {
    vault.set(name, new Secret(value));
    canaries.set(name, value);
  };
  put(credentialNames.providerKey("custom"));
  put(credentialNames.siemKey("audit", "hmac_secret"));
  put("user.notes.canary");
  const channelConfig: Record<string, unknown> = {};
  for (const ch of CHANNELS) {
    for (const c of MANIFESTS[ch].credentials) put(c.name);
  }
  for (const [ch, setup] of Object.entries(o.channels ?? {}) as [Channel, ChannelSetup][]) {
    const key = await generateAdapterKey();
    if (setup.mode === "supervised") {
      vault.set(credentialNames.adapterKey(ch), key.seed);
      canaries.set(credentialNames.adapterKey(ch), key.seed.reveal());
    } else {
      heldKeys[ch] = key.seed;
    }
    channelConfig[ch] = {
      enabled: true,
      publicKey: key.publicKeyBase64,
      allowFrom: [...(setup.allowFrom ?? [])],
    };
  }
  vault.close();

  const config = {
    version: 1,
    provider: {
      kind: "custom",
      model: "fake-model",
      baseUrl: model.baseUrl,
      credential: credentialNames.providerKey("custom"),
    },
    agents: [{ id: "default", ...(o.agent ?? {}) }],
    channels: channelConfig,
    ...(siem
      ? { siem: { destinations: [{ name: "audit", kind: "webhook", url: siem.url }] } }
      : {}),
    ...(o.config ?? {}),
  };
  await Deno.writeTextFile(join(data, "config.json"), JSON.stringify(config, null, 2), {
    mode: 0o600,
  });
  const dd = await denoDir();
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    NO_COLOR: "1",
    WIRKEN_DATA_DIR: data,
    WIRKEN_VAULT_BACKEND: "passphrase",
    WIRKEN_VAULT_PASSPHRASE: passphrase,
    ...(dd ? { DENO_DIR: dd } : {}),
    ...coverageEnv(),
    ...(o.env ?? {}),
  };

  const e: E2e = {
    home,
    data,
    workspace,
    passphrase,
    canaries,
    heldKeys,
    model,
    siem,
    env,
    gateway: null,
    async start() {
      e.gateway = await spawnGateway(e);
      return e.gateway;
    },
    webchat() {
      if (!e.gateway) throw new Error("gateway not started");
      return openWebChat(e.gateway);
    },
    async turn(chat, text, decide = () => "deny", timeoutMs = 30_000, sessionId) {
      const turn = crypto.randomUUID().replaceAll("-", "");
      const from = chat.frames.length;
      const approvals: PendingView[] = [];
      const seen = new Set<string>();
      chat.send({
        type: "send",
        turn,
        agent: "default",
        text,
        ...(sessionId ? { sessionId } : {}),
      });
      const end = await chat.waitFor(
        (f) => {
          if (f.type === "approvals") {
            for (const p of f.pending ?? []) {
              if (seen.has(p.id)) continue;
              seen.add(p.id);
              approvals.push(p);
              chat.send({ type: "decide", approvalId: p.id, decision: decide(p) });
            }
          }
          return f.type === "turn_end" && f.turn === turn;
        },
        timeoutMs,
        from,
      );
      const events = chat.frames.slice(from).filter((f) => f.type === "event" && f.turn === turn)
        .map((f) => f.event!);
      return {
        text: events.filter((ev) => ev.type === "text").map((ev) => String(ev.text)).join(""),
        events,
        approvals,
        stopped: end.stopped === true,
      };
    },
    async cli(args) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, ...args],
        cwd: ROOT,
        clearEnv: true,
        env: e.env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      };
    },
    auditEvents() {
      const log = openAuditLog(join(data, "audit.db"));
      try {
        // query() returns 100 events unless told otherwise: page through all of them.
        const all: AuditEvent[] = [];
        for (;;) {
          const page = log.query({ afterSeq: all.at(-1)?.seq ?? 0, limit: 5000 });
          all.push(...page);
          if (page.length < 5000) return all;
        }
      } finally {
        log.close();
      }
    },
    async finish(extra = []) {
      const outputs = [...extra];
      if (e.gateway) {
        const code = await e.gateway.stop("SIGTERM");
        outputs.push(e.gateway.output());
        assertEquals(code, 0, `gateway exit code; output:\n${e.gateway.output().slice(-3000)}`);
        e.gateway = null;
      }
      const verify = await e.cli(["audit", "verify"]);
      outputs.push(verify.stdout, verify.stderr);
      assertEquals(verify.code, 0, `wirken audit verify:\n${verify.stdout}\n${verify.stderr}`);
      // The canary sweep: every file of the data dir but the vault's ciphertext, every log,
      // every byte the gateway printed, every request body the model and the SIEM received.
      const leaks: string[] = [];
      for (const file of await walk(data)) {
        if (VAULT_FILES.test(file)) continue;
        const text = new TextDecoder("latin1").decode(await Deno.readFile(file));
        for (const hit of canaryHits(canaries, text)) leaks.push(`${hit} in ${file}`);
      }
      const captures: [string, string][] = [
        ...outputs.map((t, i): [string, string] => [`output #${i}`, t]),
        ...model.requests.map((r, i): [string, string] => [
          `model request #${i}`,
          JSON.stringify(r),
        ]),
        ...(siem?.requests ?? []).map((r, i): [string, string] => [`SIEM request #${i}`, r.body]),
      ];
      for (const [where, text] of captures) {
        for (const hit of canaryHits(canaries, text)) leaks.push(`${hit} in ${where}`);
      }
      assertEquals(leaks, [], "no canary secret anywhere outside the vault");
      await e.abort();
    },
    async abort() {
      if (e.gateway) {
        await e.gateway.stop("SIGKILL").catch(() => 0);
        e.gateway = null;
      }
      await model.close().catch(() => {});
      await siem?.close().catch(() => {});
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
  return e;
}

/** Runs `body` with a fresh environment, always cleaning up. */
export async function withE2e(
  o: E2eOptions,
  body: (e: E2e) => Promise<void>,
): Promise<void> {
  const e = await setupE2e(o);
  try {
    await body(e);
    await e.finish();
  } catch (err) {
    // A failing e2e test is only debuggable with the gateway's own account of it.
    const log = await Deno.readTextFile(join(e.data, "logs", "wirken.log")).catch(() => "");
    let audit = "";
    try {
      audit = e.auditEvents().map((ev) =>
        `${ev.kind} ${ev.channel ?? "-"} ${ev.actor} ${JSON.stringify(ev.payload).slice(0, 200)}`
      ).join("\n");
    } catch { /* no audit log yet */ }
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `--- gateway output ---\n${e.gateway?.output().slice(-4000) ?? "(stopped)"}\n` +
          `--- wirken.log (tail) ---\n${log.slice(-6000)}\n--- audit ---\n${audit}\n` +
          `--- model requests: ${e.model.requests.length} ---\n`,
      ),
    );
    throw err;
  } finally {
    await e.abort();
  }
}

/** The tool-result messages (role `tool`) the model received in request `n`. */
export function toolResults(model: FakeChat, n: number): string[] {
  const messages = (model.requests[n]?.messages ?? []) as { role: string; content?: unknown }[];
  return messages.filter((m) => m.role === "tool").map((m) => String(m.content ?? ""));
}

/** Asserts a tool result text in the last request contains `part`. */
export function lastToolResult(model: FakeChat): string {
  const r = toolResults(model, model.requests.length - 1);
  assert(r.length > 0, "the model received a tool result");
  return r[r.length - 1];
}

/**
 * Reads a `/proc` file through `cat`: Deno 2 wants --allow-all for /proc, which the suite's
 * flags do not grant, while running programs is allowed. `null` when it cannot be read.
 */
export async function procFile(path: string): Promise<string | null> {
  const out = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
    .output();
  return out.success ? new TextDecoder().decode(out.stdout) : null;
}

/** True while `pid` exists and is not a zombie. */
export async function alive(pid: number): Promise<boolean> {
  const stat = await procFile(`/proc/${pid}/stat`);
  if (stat === null) return false;
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

/** Pids of live processes whose full command line contains `needle` (via pgrep). */
export async function pidsWith(needle: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", needle], stdout: "piped" }).output();
  const pids = new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean).map(Number);
  const live: number[] = [];
  for (const p of pids) if (await alive(p)) live.push(p);
  return live;
}
