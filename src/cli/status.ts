/**
 * `wirken status`: the running gateway's adapters, read from the status file the supervisor
 * keeps at `<data>/sockets/status.json` (0600). Reading a file rather than connecting to the
 * socket keeps `status` from looking like a failed adapter handshake in the audit log.
 *
 * @module
 */
import type { CommandSpec } from "./spec.ts";

/** Formats a duration in ms as `3d 4h`, `5m 2s`, `12s`. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** True when a process with `pid` exists (Linux /proc; elsewhere assumed alive). */
function processAlive(pid: number): boolean {
  try {
    Deno.statSync("/proc/self");
  } catch {
    return true; // no /proc: trust the file; the gateway removes it on a clean stop
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** The `status` command. */
export const statusCommand: CommandSpec = {
  name: "status",
  summary: "Show the running gateway's adapters: pid, state, uptime, restarts, last error.",
  examples: ["wirken status", "wirken status --json"],
  json: true,
  async run(ctx) {
    const [{ dataPaths }, { STATUS_FILE, StatusFileSchema }, { print, printJson, table }] =
      await Promise.all([
        import("../config/paths.ts"),
        import("../gateway/status_file.ts"),
        import("./output.ts"),
      ]);
    const path = `${dataPaths(ctx.dataDir).sockets}/${STATUS_FILE}`;
    let text: string | null = null;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const parsed = text === null ? null : StatusFileSchema.safeParse(safeJson(text));
    const doc = parsed?.success ? parsed.data : null;
    const running = doc !== null && processAlive(doc.gatewayPid);
    const now = Date.now();
    // SIEM lag is read from audit.db itself (its cursors), so it shows even when stopped.
    const siem = await siemLag(ctx.dataDir);
    if (ctx.json) {
      printJson({
        running,
        gatewayPid: running ? doc?.gatewayPid : null,
        socketPath: doc?.socketPath ?? null,
        updatedAt: doc?.updatedAt ?? null,
        adapters: running
          ? doc!.adapters.map((a) => ({
            ...a,
            uptimeSeconds: a.startedAt ? Math.floor((now - Date.parse(a.startedAt)) / 1000) : null,
          }))
          : [],
        siem,
      });
      return running ? 0 : 1;
    }
    if (!running) {
      print(
        doc
          ? `The gateway is not running (pid ${doc.gatewayPid} has exited; last status ${doc.updatedAt}).`
          : "The gateway is not running.",
      );
      print("  Start it with `wirken run`.");
      return 1;
    }
    print(`Gateway running (pid ${doc.gatewayPid}), socket ${doc.socketPath}`);
    if (siem.length) {
      print("");
      print(table(
        ["SIEM", "STATE", "DELIVERED", "LAG (EVENTS)", "LAST ERROR"],
        siem.map((
          d,
        ) => [d.name, d.state, String(d.deliveredSeq), String(d.lagEvents), d.lastError ?? ""]),
      ));
    }
    if (doc.adapters.length === 0) {
      print("No channel adapters configured. Add one with `wirken channel add <channel>`.");
      return 0;
    }
    print("");
    print(table(
      ["CHANNEL", "STATE", "PID", "UPTIME", "RESTARTS", "CONNECTED", "LAST ERROR"],
      doc.adapters.map((a) => [
        a.channel,
        a.state === "backoff" && a.nextStartAt
          ? `backoff (retry in ${formatUptime(Date.parse(a.nextStartAt) - now)})`
          : a.state,
        a.pid === null ? "-" : String(a.pid),
        a.startedAt && a.state === "running" ? formatUptime(now - Date.parse(a.startedAt)) : "-",
        String(a.restarts),
        a.connected ? "yes" : "no",
        a.lastError ?? "",
      ]),
    ));
    return 0;
  },
};

async function siemLag(dataDir: string) {
  const [{ dataPaths }, { loadConfig }, { readAuditStatus }] = await Promise.all([
    import("../config/paths.ts"),
    import("../config/load.ts"),
    import("../audit/service.ts"),
  ]);
  const paths = dataPaths(dataDir);
  const config = await loadConfig(paths.config);
  if (config.siem.destinations.length === 0) return [];
  return (await readAuditStatus(paths.auditDb, config))?.siem ?? [];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
