/**
 * The gateway's composition root: the one place that builds every service and wires them.
 *
 * @module
 */
import { type DataPaths, ensureDataDir } from "../config/paths.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { WirkenError } from "../errors.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { createWebChatApp, loginUrl } from "../webchat/app.ts";
import { createWebChatAuth } from "../webchat/auth.ts";
import { notConnectedService } from "../webchat/unavailable.ts";
import { providerLabel } from "./banner.ts";
import type { RefreshResult } from "../policy/refresh.ts";
import type { ProviderOverride } from "../router/override.ts";
import type { AuditServices } from "../audit/mod.ts";
import type { Vault } from "../vault/mod.ts";
import type { AdapterHost } from "./adapters.ts";
import { unlockVault } from "./unlock.ts";
import type { Core } from "./core.ts";
import { startCore } from "./core.ts";
import { ConversationPrompts, dispatchFromAdapter } from "./channel_bridge.ts";
import type { AdapterStatus } from "./status_file.ts";
import type { ChatService } from "../webchat/service.ts";

/** The WebChat service over the core, with the audit panel's check pinned to our own key. */
async function webchatService(
  config: Config,
  paths: DataPaths,
  core: Core,
  audit: AuditServices,
  vault: Vault,
  adapterStatus: () => AdapterStatus[],
): Promise<ChatService> {
  const { createChatService } = await import("./chat_service.ts");
  return createChatService({
    core,
    audit: audit.log,
    vault,
    workspaceFor: (agent) =>
      config.agents.find((a) => a.id === agent)?.workspace ?? `${paths.workspace}/${agent}`,
    maxUploadBytes: config.tools.writeMaxBytes,
    status: () => ({
      adapters: adapterStatus().map((a) => ({
        channel: a.channel,
        pid: a.pid,
        state: a.connected ? `${a.state}, connected` : a.state,
        uptimeSeconds: a.startedAt ? Math.round((Date.now() - Date.parse(a.startedAt)) / 1000) : 0,
        restarts: a.restarts,
        lastError: a.lastError,
      })),
    }),
  });
}

/** Options of {@linkcode startGateway}. */
export interface GatewayOptions {
  dataDir: string;
  /** WebChat port; `0` picks a free one. Default: config (18790). */
  port?: number;
  verbose?: boolean;
  version: string;
  /** Terminal logger (the gateway adds a file logger under `logs/`). */
  terminalLog?: boolean;
  /** Environment (a map in tests). */
  env?: { get(name: string): string | undefined };
  /** `--provider/--model/--base-url` for this run only; config.json is not changed. */
  override?: ProviderOverride;
}

/** A running gateway. */
export interface Gateway {
  config: Config;
  /** The organisation policy in force, if this gateway follows one. */
  policy: RefreshResult | null;
  paths: DataPaths;
  /** The WebChat URL actually bound. */
  webchatUrl: string;
  /**
   * The one-time-per-start login link (`<webchatUrl>/login?token=...`) the banner should print:
   * WebChat refuses everything but `/healthz` without the session it opens. Not logged to files.
   */
  webchatLoginUrl: string;
  port: number;
  /** The open vault; `null` when it stayed locked (see `locked`). */
  vault: Vault | null;
  /** Why the vault is locked (no message is processed then), or `null`. */
  locked: string | null;
  /** The audit log, SIEM forwarding and pruning; `null` while locked. */
  audit: AuditServices | null;
  /** Router, tools, approvals; `null` while the vault is locked. */
  core: Core | null;
  /** The IPC socket path once adapters can connect; `null` until then. */
  socketPath: string | null;
  log: Logger;
  /** Stops every service; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Things to close, newest first. Every start step pushes its closer, so a failure at any later
 * step closes exactly what was opened, and `close()` runs the same list.
 */
class Closers {
  readonly #list: (() => void | Promise<void>)[] = [];
  push(fn: () => void | Promise<void>): void {
    this.#list.push(fn);
  }
  async run(log: Logger): Promise<void> {
    while (this.#list.length) {
      try {
        await this.#list.pop()!();
      } catch (e) {
        log.warn("error while stopping", { error: e });
      }
    }
  }
}

/**
 * Starts the gateway: data dir, config and org policy, logging, vault, audit, the core (router,
 * tools, approvals), the channel adapters, and WebChat.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const paths = await ensureDataDir(options.dataDir);
  let config = await loadConfig(paths.config);
  if (options.override) {
    const { applyOverride } = await import("../router/override.ts");
    config = await applyOverride(config, options.override);
  }
  // The org policy is checked against what will actually run, overrides included; what runs
  // is the config with the policy's floors merged in (tiers, SIEM, retention) and its limits.
  const followed = config.org
    ? await (await import("../policy/follow.ts")).followOrgPolicy(config, paths)
    : null;
  const policy = followed?.policy ?? null;
  if (followed) config = followed.config;
  const log = createLogger({
    file: `${paths.logs}/wirken.log`,
    verbose: options.verbose,
    terminal: options.terminalLog === false ? null : undefined,
    component: "gateway",
  });
  const closers = new Closers();
  closers.push(() => log.close());
  try {
    const env = options.env ?? Deno.env;
    const { vault, locked } = await unlockVault(paths.root, env, log);
    if (locked) log.warn(`vault locked: ${locked}`);
    if (vault) closers.push(() => vault.close());
    let audit: AuditServices | null = null;
    let core: Core | null = null;
    let adapters: AdapterHost | null = null;
    if (vault) {
      const { startAuditServices } = await import("../audit/mod.ts");
      const a = startAuditServices({
        path: paths.auditDb,
        credentials: vault,
        config,
        logger: log,
      });
      audit = a;
      closers.push(() => a.stop());
      // Tool calls a crash cut off are recorded as interrupted before any turn can start.
      const { recordInterrupted, reportInterrupted } = await import("./interrupted.ts");
      const cut = await recordInterrupted(paths.sessionsDb, a.log, log, paths.permissionsDb);
      // The core (router, tools, approvals) serves every channel; none runs while locked.
      const c = await startCore({
        config,
        paths,
        vault,
        audit: a.log,
        log,
        env,
        limits: followed?.limits,
      });
      core = c;
      closers.push(() => c.close());
      // Channel adapters: the IPC socket and one supervised, confined process per channel.
      const prompts = new ConversationPrompts(c.broker);
      const { startAdapterHost } = await import("./adapters.ts");
      const { enforcingExpiry } = await import("../vault/mod.ts");
      const host = await startAdapterHost({
        config,
        paths,
        credentials: enforcingExpiry(vault),
        audit: a.log,
        log,
        verbose: options.verbose,
        dispatch: (message, handle, preview) =>
          dispatchFromAdapter(c, message, handle, prompts, preview),
      });
      adapters = host;
      // Adapters stop before the core and the audit log, which still take their last events.
      closers.push(() => host.close());
      // Conversations whose turn the crash cut off are told so once their adapter is back.
      const reporting = new AbortController();
      closers.push(() => reporting.abort());
      reportInterrupted(cut, host.server, log, reporting.signal).catch(() => {});
      for (const channel of Object.keys(config.channels)) {
        c.approvals.setSink(channel, (prompt) => prompts.show(prompt, host));
      }
      // Scheduled tasks enter the same router; they stop first (closers run newest first).
      const { startScheduledTasks } = await import("./schedule_bridge.ts");
      const scheduler = await startScheduledTasks({
        core: c,
        dataRoot: paths.root,
        audit: a.log,
        log,
        send: (handle, message) => host.server.send(handle, message),
        remember: (handle) => prompts.remember(handle),
      });
      closers.push(() => scheduler.stop());
    }
    const service: ChatService = core && vault && audit
      ? await webchatService(
        config,
        paths,
        core,
        audit,
        vault,
        () => adapters?.supervisor.status() ?? [],
      )
      : notConnectedService(
        `The vault is locked, so no message is processed: ${locked}`,
        "Restart `wirken run` in a terminal or with WIRKEN_VAULT_PASSPHRASE set.",
      );
    const port = options.port ?? config.webchat.port;
    const webchatAuth = createWebChatAuth();
    const app = createWebChatApp(
      { version: options.version, provider: providerLabel(config), startedAt: new Date() },
      service,
      { auth: webchatAuth },
    );
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, app.fetch);
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new WirkenError(`Port ${port} on 127.0.0.1 is already in use.`, {
          fix: `Stop the other program (or gateway), or start with --port <n> / WIRKEN_PORT.`,
        });
      }
      throw e;
    }
    closers.push(() => server.shutdown());
    const bound = server.addr.port;
    const webchatUrl = `http://localhost:${bound}`;
    log.info("gateway started", { webchat: webchatUrl, dataDir: paths.root });
    if (policy?.warning) log.warn(policy.warning);
    for (const a of followed?.adjustments ?? []) log.warn(`org policy: ${a}`);
    // Metadata only: no key is needed, so this never prompts.
    const { vaultWarnings } = await import("../vault/mod.ts");
    for (const w of await vaultWarnings(paths.root).catch(() => [])) log.warn(w.message);

    let closed: Promise<void> | null = null;
    return {
      config,
      policy,
      paths,
      webchatUrl,
      webchatLoginUrl: loginUrl(webchatUrl, webchatAuth),
      port: bound,
      vault,
      locked,
      audit,
      core,
      socketPath: adapters?.socketPath ?? null,
      log,
      close() {
        closed ??= (async () => {
          log.info("gateway stopping");
          await closers.run(log);
        })();
        return closed;
      },
    };
  } catch (e) {
    await closers.run(log);
    throw e;
  }
}
