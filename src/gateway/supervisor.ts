/**
 * The adapter supervisor: one child process per configured channel, each started by
 * re-invoking this program as `wirken adapter <channel>` with only that channel's grants.
 *
 * - From source (`deno run main.ts`): the child is `deno run --allow-net=<manifest hosts>,
 *   unix:<socket> --allow-read=<socket> --allow-write=<socket> --allow-env=<few>
 *   main.ts adapter <channel>`, so the OS process itself is confined.
 * - Compiled (`deno compile`): the binary's permissions are baked in, so the child is
 *   `<binary> adapter <channel>` and it runs its channel code in a Worker whose
 *   `deno.permissions` are the same grants (adapters/shared/main.ts).
 *
 * Credentials go over the child's stdin (src/ipc/bundle.ts), never argv or env; the child's
 * environment is rebuilt from an allow-list with every `WIRKEN_*` and provider key removed.
 * Crashes restart with backoff (1 s doubling to 60 s, give up after 8 failures in a row, reset
 * after 10 minutes healthy); a child silent for 30 s is killed and restarted; `stop()` leaves
 * no child behind. State is written to `<sockets>/status.json` (0600) for `wirken status`.
 *
 * @module
 */
import { isCompiled } from "../cli/self.ts";
import { adapterGrants, MANIFESTS } from "../../adapters/shared/manifests.ts";
import type { AuditSink } from "../audit/types.ts";
import { writeFileAtomic } from "../config/paths.ts";
import { type Channel, CHANNELS, type Config } from "../config/schema.ts";
import { BUNDLE_VERSION, encodeBundle, type Grants, type Isolation } from "../ipc/bundle.ts";
import { toBase64 } from "../ipc/keys.ts";
import type { Logger } from "../log/logger.ts";
import type { Secret } from "../secret.ts";
import { type AdapterStatus, STATUS_FILE, type StatusFile } from "./status_file.ts";
import { credentialNames, type CredentialStore } from "../vault/types.ts";

/** Where an adapter is in its life. */
/** Re-exported: the one compiled-mode check lives in `src/cli/self.ts`. */
export { isCompiled };

export type AdapterState = AdapterStatus["state"];
export type { AdapterStatus, StatusFile };

/** The gateway's view of adapter liveness (the IPC server provides it). */
export interface Liveness {
  connected(channel: Channel): boolean;
  lastSeen(channel: Channel): number | undefined;
  shutdownAdapter?(channel: Channel, reason: string): Promise<void>;
  /** The last handshake the gateway itself rejected for `channel`. */
  lastAuthFailure?(channel: Channel): { at: number; reason: string } | undefined;
  /** The last time the gateway cut `channel`'s connection for flooding frames. */
  lastCutOff?(channel: Channel): { at: number; reason: string } | undefined;
}

/** The restart policy's numbers. */
export interface BackoffOptions {
  /** First delay (default 1000 ms); doubles each failure. */
  baseMs?: number;
  /** Delay cap (default 60 000 ms). */
  maxMs?: number;
  /** Failures in a row before giving up (default 8). */
  maxFailures?: number;
  /** Uptime after which the failure count resets (default 10 minutes). */
  healthyResetMs?: number;
}

/** What to do after an adapter exited. */
export type RestartDecision = { action: "restart"; delayMs: number } | { action: "give-up" };

/**
 * Exponential backoff with give-up and healthy reset, as a pure object so tests can drive it
 * with any clock.
 */
export class RestartPolicy {
  /** Failures in a row. */
  failures = 0;
  readonly #base: number;
  readonly #max: number;
  readonly #maxFailures: number;
  readonly #healthyMs: number;

  /** See {@linkcode BackoffOptions} for the defaults. */
  constructor(options: BackoffOptions = {}) {
    this.#base = options.baseMs ?? 1000;
    this.#max = options.maxMs ?? 60_000;
    this.#maxFailures = options.maxFailures ?? 8;
    this.#healthyMs = options.healthyResetMs ?? 10 * 60_000;
  }

  /** Called while a process runs; `uptimeMs` past the healthy mark forgets old failures. */
  observeUptime(uptimeMs: number): void {
    if (uptimeMs >= this.#healthyMs) this.failures = 0;
  }

  /** Called when a process exited unexpectedly after `uptimeMs`. */
  onExit(uptimeMs: number): RestartDecision {
    this.observeUptime(uptimeMs);
    this.failures++;
    if (this.failures >= this.#maxFailures) return { action: "give-up" };
    return {
      action: "restart",
      delayMs: Math.min(this.#max, this.#base * 2 ** (this.failures - 1)),
    };
  }
}

/** How to start one adapter. */
export interface LaunchPlan {
  command: string;
  args: string[];
  isolation: Isolation;
}

/** Options of {@linkcode launchPlan}. */
export interface LaunchOptions {
  compiled: boolean;
  /** `process` (flags) or `worker`; compiled binaries always use `worker`. */
  isolation: Isolation;
  execPath: string;
  /** `main.ts` when running from source. */
  mainModule: string;
  /** `deno.json` when running from source (its import map resolves npm packages). */
  configPath: string;
  verbose?: boolean;
}

/**
 * V8 settings of adapter processes run from source. An adapter moves a few messages a second,
 * so a 1 MiB young generation (V8 grows it to 16 MiB under allocation) costs it nothing
 * measurable and saves ~8 MiB of RSS per adapter (bench/adapters_bench.ts, six adapters).
 */
export const ADAPTER_V8_FLAGS = "--v8-flags=--max-semi-space-size=1";

/**
 * The command line of `channel`'s adapter. In `process` isolation every grant is a flag and
 * nothing else is allowed (no `--allow-run`, `--allow-sys`, `--allow-ffi`); `HOME` and
 * `WIRKEN_DATA_DIR` are readable because the CLI resolves the data dir for every command.
 */
export function launchPlan(channel: Channel, grants: Grants, o: LaunchOptions): LaunchPlan {
  const tail = ["adapter", channel, ...(o.verbose ? ["--verbose"] : [])];
  if (o.compiled) return { command: o.execPath, args: tail, isolation: "worker" };
  const base = ["run", "--no-prompt", ADAPTER_V8_FLAGS, `--config=${o.configPath}`];
  if (o.isolation === "worker") {
    // The same broad grants a compiled binary bakes in; the Worker does the confining.
    return {
      command: o.execPath,
      args: [
        ...base,
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-env",
        "--unstable-worker-options",
        o.mainModule,
        ...tail,
      ],
      isolation: "worker",
    };
  }
  const env = [...new Set([...grants.env, "HOME", "WIRKEN_DATA_DIR"])];
  return {
    command: o.execPath,
    args: [
      ...base,
      `--allow-net=${grants.net.join(",")}`,
      `--allow-read=${grants.read.join(",")}`,
      `--allow-write=${grants.write.join(",")}`,
      `--allow-env=${env.join(",")}`,
      o.mainModule,
      ...tail,
    ],
    isolation: "process",
  };
}

/** Variables every child gets when the parent has them: what Deno itself needs to run. */
const BASE_ENV = [
  "PATH",
  "HOME",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "NO_COLOR",
  "SSL_CERT_FILE",
  "DENO_CERT",
  // Set only by `deno test --coverage`: adapter processes started by tests add their profiles.
  "DENO_COVERAGE_DIR",
];

const SECRET_ENV = [
  /^WIRKEN_/i,
  /(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSPHRASE|CREDENTIALS?)(_|$)/i,
  /^(OPENAI|ANTHROPIC|GEMINI|GOOGLE|AWS|AZURE|MISTRAL|GROQ|TINFOIL|PRIVATEMODE|OLLAMA|COHERE|DEEPSEEK|OPENROUTER|XAI|BEDROCK)_/i,
];

/** True for names that may hold a secret and never reach an adapter's environment. */
export function isSecretEnv(name: string): boolean {
  return SECRET_ENV.some((re) => re.test(name));
}

/** The environment of `channel`'s adapter: an allow-list, minus anything secret-looking. */
export function childEnv(parent: Record<string, string>, channel: Channel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...BASE_ENV, ...MANIFESTS[channel].env]) {
    const v = parent[name];
    if (v !== undefined && !isSecretEnv(name)) out[name] = v;
  }
  out.DENO_NO_UPDATE_CHECK = "1";
  return out;
}

/** The channels a config asks to run: enabled and with a registered adapter key. */
export function supervisedChannels(config: Pick<Config, "channels">): Channel[] {
  return CHANNELS.filter((c) => config.channels[c]?.enabled && config.channels[c]?.publicKey);
}

/** Options of {@linkcode Supervisor}. */
export interface SupervisorOptions {
  channels: readonly Channel[];
  socketPath: string;
  /** The IPC server's public key; each adapter gets it and talks only to a socket proving it. */
  gatewayPublicKey: Uint8Array;
  credentials: CredentialStore;
  audit: AuditSink;
  log: Logger;
  /** The IPC server, for heartbeat-based liveness and clean shutdown frames. */
  liveness?: Liveness;
  /** Default: `status.json` beside the socket. */
  statusFile?: string;
  /** The gateway's environment (default `Deno.env.toObject()`). */
  env?: Record<string, string>;
  /** `auto` (default): `process` from source, `worker` when compiled. */
  isolation?: "auto" | Isolation;
  /** `test` runs the test-suite driver instead of the chat library. */
  driver?: "channel" | "test";
  /** Each channel's per-conversation group mention rules, handed over in the bundle. */
  groupModes?: (channel: Channel) => Record<string, "mention" | "all">;
  /** Overrides the compiled-mode detection and paths (tests). */
  launch?: Partial<LaunchOptions>;
  backoff?: BackoffOptions;
  /** Liveness check period (default 10 s). */
  heartbeatMs?: number;
  /** Kill a child silent this long (default 30 s). */
  deadAfterMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop (default 3 s). */
  stopTimeoutMs?: number;
  verbose?: boolean;
}

interface Slot {
  channel: Channel;
  policy: RestartPolicy;
  child: Deno.ChildProcess | null;
  stdin: WritableStreamDefaultWriter<Uint8Array> | null;
  pid: number | null;
  state: AdapterState;
  startedAt: number | null;
  lastAlive: number;
  restarts: number;
  lastError: string | null;
  nextStartAt: number | null;
  timer: ReturnType<typeof setTimeout> | null;
  stderrTail: string[];
  killReason: string | null;
  exited: Promise<void>;
}

/** Starts, watches, restarts and stops the adapter processes. */
export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #slots = new Map<Channel, Slot>();
  readonly #log: Logger;
  readonly #statusFile: string;
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #stopping = false;
  #lastConnected = "";
  #statusQueue: Promise<void> = Promise.resolve();

  /** See {@linkcode SupervisorOptions}; nothing starts before {@linkcode start}. */
  constructor(options: SupervisorOptions) {
    this.#o = options;
    this.#log = options.log.child("supervisor");
    const dir = options.socketPath.slice(0, options.socketPath.lastIndexOf("/")) || "/";
    this.#statusFile = options.statusFile ?? `${dir}/${STATUS_FILE}`;
  }

  /** Path of the status file `wirken status` reads. */
  get statusFile(): string {
    return this.#statusFile;
  }

  /** Starts every channel's adapter and the liveness watchdog. */
  async start(): Promise<void> {
    for (const channel of this.#o.channels) {
      const slot: Slot = {
        channel,
        policy: new RestartPolicy(this.#o.backoff),
        child: null,
        stdin: null,
        pid: null,
        state: "starting",
        startedAt: null,
        lastAlive: Date.now(),
        restarts: 0,
        lastError: null,
        nextStartAt: null,
        timer: null,
        stderrTail: [],
        killReason: null,
        exited: Promise.resolve(),
      };
      this.#slots.set(channel, slot);
      await this.#spawn(slot);
    }
    const period = this.#o.heartbeatMs ?? 10_000;
    this.#watchdog = setInterval(() => this.#check(), Math.min(period, 1000));
    await this.#writeStatus();
  }

  /** The current status of every adapter. */
  status(): AdapterStatus[] {
    return [...this.#slots.values()].map((s) => ({
      channel: s.channel,
      pid: s.pid,
      state: s.state,
      startedAt: s.startedAt === null ? null : new Date(s.startedAt).toISOString(),
      connected: this.#o.liveness?.connected(s.channel) ?? false,
      restarts: s.restarts,
      consecutiveFailures: s.policy.failures,
      lastError: s.lastError,
      nextStartAt: s.nextStartAt === null ? null : new Date(s.nextStartAt).toISOString(),
    }));
  }

  #bundle(slot: Slot, isolation: Isolation, grants: Grants): Uint8Array | string {
    const ch = slot.channel;
    const key = this.#o.credentials.get(credentialNames.adapterKey(ch));
    if (!key) {
      return `no adapter key in the vault (${
        credentialNames.adapterKey(ch)
      }); run \`wirken channel add ${ch}\``;
    }
    const creds = new Map<string, Secret>();
    const names: string[] = MANIFESTS[ch].credentials.map((c) => c.name);
    if (this.#o.driver === "test") names.push(credentialNames.channelSecret(ch, "test_mode"));
    for (const name of names) {
      const value = this.#o.credentials.get(name);
      if (value) creds.set(name, value);
    }
    if (this.#o.driver !== "test") {
      const missing = MANIFESTS[ch].credentials.filter((c) => c.required && !creds.has(c.name));
      if (missing.length > 0) {
        return `missing credential ${
          missing.map((m) => m.name).join(", ")
        }; run \`wirken channel add ${ch}\``;
      }
    }
    return encodeBundle({
      version: BUNDLE_VERSION,
      channel: ch,
      socketPath: this.#o.socketPath,
      gatewayKey: toBase64(this.#o.gatewayPublicKey),
      adapterKey: key,
      credentials: creds,
      isolation,
      grants,
      driver: this.#o.driver ?? "channel",
      groupModes: this.#o.groupModes?.(ch),
    });
  }

  async #spawn(slot: Slot): Promise<void> {
    if (this.#stopping) return;
    const ch = slot.channel;
    const env = this.#o.env ?? Deno.env.toObject();
    const grants = adapterGrants(ch, this.#o.socketPath, { get: (n) => env[n] });
    const compiled = this.#o.launch?.compiled ?? isCompiled();
    const iso = this.#o.isolation ?? "auto";
    const plan = launchPlan(ch, grants, {
      compiled,
      isolation: iso === "auto" ? (compiled ? "worker" : "process") : iso,
      execPath: this.#o.launch?.execPath ?? Deno.execPath(),
      mainModule: this.#o.launch?.mainModule ?? new URL("../../main.ts", import.meta.url).pathname,
      configPath: this.#o.launch?.configPath ??
        new URL("../../deno.json", import.meta.url).pathname,
      verbose: this.#o.verbose,
    });
    const bundle = this.#bundle(slot, plan.isolation, grants);
    if (typeof bundle === "string") {
      // A configuration problem: restarting cannot fix it, so fail at once and say why.
      slot.state = "failed";
      slot.lastError = bundle;
      this.#log.error("cannot start adapter", { channel: ch, reason: bundle });
      await this.#writeStatus();
      return;
    }
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(plan.command, {
        args: plan.args,
        env: childEnv(env, ch),
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      slot.lastError = `spawn failed: ${e instanceof Error ? e.message : String(e)}`;
      await this.#onExit(slot, 0);
      return;
    }
    slot.child = child;
    slot.pid = child.pid;
    slot.state = "running";
    slot.startedAt = Date.now();
    slot.lastAlive = slot.startedAt;
    slot.nextStartAt = null;
    slot.killReason = null;
    slot.stderrTail = [];
    const writer = child.stdin.getWriter();
    slot.stdin = writer;
    // The bundle, then nothing: the pipe stays open so the child sees EOF if we die.
    writer.write(bundle).catch(() => {}).finally(() => bundle.fill(0));
    this.#pump(slot, child.stdout, "stdout");
    this.#pump(slot, child.stderr, "stderr");
    this.#log.info("adapter started", { channel: ch, pid: child.pid, isolation: plan.isolation });
    this.#o.audit.append({
      kind: "adapter.start",
      actor: "gateway",
      channel: ch,
      payload: { pid: child.pid, isolation: plan.isolation, grants },
    }).catch((e) => this.#log.error("audit append failed", { error: String(e) }));
    const started = slot.startedAt;
    slot.exited = child.status.then((status) => {
      if (slot.child !== child) return;
      slot.child = null;
      slot.pid = null;
      try {
        writer.releaseLock();
      } catch { /* already released */ }
      slot.stdin = null;
      const how = status.signal ? `killed by ${status.signal}` : `exited with code ${status.code}`;
      const tail = slot.stderrTail.at(-1);
      slot.lastError = [slot.killReason, how, tail].filter(Boolean).join(": ");
      return this.#onExit(slot, Date.now() - started, status);
    });
    await this.#writeStatus();
  }

  async #onExit(slot: Slot, uptimeMs: number, status?: Deno.CommandStatus): Promise<void> {
    if (this.#stopping) {
      slot.state = "stopped";
      return;
    }
    this.#log.warn("adapter exited", { channel: slot.channel, uptimeMs, error: slot.lastError });
    this.#o.audit.append({
      kind: "adapter.crash",
      actor: "gateway",
      channel: slot.channel,
      payload: { code: status?.code, signal: status?.signal, uptimeMs, error: slot.lastError },
    }).catch((e) => this.#log.error("audit append failed", { error: String(e) }));
    // Exit code 2: the adapter was told its key is wrong. Retrying cannot fix that, but only
    // believe it when our own IPC server really rejected this channel just now: a process
    // squatting on the socket could say the same to make us give up on a healthy adapter.
    const rejection = status?.code === 2
      ? this.#o.liveness?.lastAuthFailure?.(slot.channel)
      : undefined;
    const rejected = rejection !== undefined && Date.now() - rejection.at < 60_000;
    const decision: RestartDecision = rejected
      ? { action: "give-up" }
      : slot.policy.onExit(uptimeMs);
    if (decision.action === "give-up") {
      slot.state = "failed";
      slot.lastError = rejected
        ? `rejected by the gateway: ${rejection.reason}`
        : `gave up after ${slot.policy.failures} failures in a row: ${slot.lastError}`;
      this.#log.error("adapter failed; not restarting", {
        channel: slot.channel,
        error: slot.lastError,
      });
    } else {
      slot.restarts++;
      slot.state = "backoff";
      slot.nextStartAt = Date.now() + decision.delayMs;
      slot.timer = setTimeout(() => {
        slot.timer = null;
        this.#spawn(slot).catch((e) => this.#log.error("respawn failed", { error: String(e) }));
      }, decision.delayMs);
    }
    await this.#writeStatus();
  }

  #pump(slot: Slot, stream: ReadableStream<Uint8Array>, name: string): void {
    const log = this.#log.child(slot.channel);
    (async () => {
      let rest = "";
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        rest += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          const line = rest.slice(0, nl).trimEnd();
          rest = rest.slice(nl + 1);
          if (!line) continue;
          slot.stderrTail.push(line.slice(0, 500));
          if (slot.stderrTail.length > 5) slot.stderrTail.shift();
          log.debug(line, { stream: name });
        }
        if (rest.length > 64 * 1024) rest = rest.slice(-1024);
      }
    })().catch(() => {});
  }

  #check(): void {
    const now = Date.now();
    // Connection changes come from the IPC server; reflect them in the status file.
    const connected = [...this.#slots.keys()].map((c) => this.#o.liveness?.connected(c) ?? false)
      .join();
    if (connected !== this.#lastConnected) {
      this.#lastConnected = connected;
      this.#writeStatus();
    }
    const dead = this.#o.deadAfterMs ?? 30_000;
    for (const slot of this.#slots.values()) {
      if (slot.state !== "running" || !slot.child || slot.startedAt === null) continue;
      slot.policy.observeUptime(now - slot.startedAt);
      const live = this.#o.liveness;
      if (!live) continue;
      if (live.connected(slot.channel)) {
        slot.lastAlive = Math.max(slot.lastAlive, live.lastSeen(slot.channel) ?? 0);
      }
      // A process the gateway cut off for flooding is not trusted to reconnect on its own
      // terms: it is killed, so the restart backoff (and give-up after 8) applies to it.
      const cut = live.lastCutOff?.(slot.channel);
      if (cut && cut.at >= slot.startedAt) {
        slot.killReason = `cut off by the gateway: ${cut.reason}`;
        this.#log.warn("adapter flooded the gateway; killing it", { channel: slot.channel });
        try {
          slot.child.kill("SIGKILL");
        } catch { /* already gone */ }
        continue;
      }
      if (now - slot.lastAlive > dead) {
        slot.killReason = `no heartbeat for ${Math.round((now - slot.lastAlive) / 1000)} s`;
        this.#log.warn("adapter is unresponsive; killing it", { channel: slot.channel });
        try {
          slot.child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    }
  }

  #writeStatus(): Promise<void> {
    if (this.#stopping) return this.#statusQueue;
    const doc: StatusFile = {
      version: 1,
      gatewayPid: Deno.pid,
      socketPath: this.#o.socketPath,
      updatedAt: new Date().toISOString(),
      adapters: this.status(),
    };
    this.#statusQueue = this.#statusQueue
      .then(() => writeFileAtomic(this.#statusFile, JSON.stringify(doc, null, 2) + "\n"))
      .catch((e) => this.#log.warn("cannot write the status file", { error: String(e) }));
    return this.#statusQueue;
  }

  /** Stops every adapter (shutdown frame, stdin EOF, SIGTERM, then SIGKILL) and waits. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    await this.#writeStatus();
    this.#stopping = true;
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    const grace = this.#o.stopTimeoutMs ?? 3000;
    await Promise.all([...this.#slots.values()].map(async (slot) => {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.timer = null;
      const child = slot.child;
      if (!child) {
        slot.state = slot.state === "failed" ? "failed" : "stopped";
        return;
      }
      await this.#o.liveness?.shutdownAdapter?.(slot.channel, "gateway stopping").catch(() => {});
      await slot.stdin?.close().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, grace);
      await child.status;
      clearTimeout(killer);
      await slot.exited;
      slot.state = "stopped";
      slot.pid = null;
      this.#log.info("adapter stopped", { channel: slot.channel });
    }));
    await this.#statusQueue;
    await Deno.remove(this.#statusFile).catch(() => {});
  }
}
