/**
 * Start-up handling of turns the last stop (a crash, `kill -9`) cut off, in the middle of a tool
 * call or while the model was answering: each call is recorded as interrupted and each
 * unanswered message as answered by the restart notice before any turn can start
 * (src/agent/recover.ts), and each chat conversation concerned is told, once its adapter is connected again, that its
 * message was not finished, so a pending message is reported failed rather than left
 * unanswered. A notice that cannot be delivered is logged like any undelivered reply.
 *
 * @module
 */
import type { CutOff } from "../agent/recover.ts";
import type { AuditServices } from "../audit/mod.ts";
import { isChannel } from "../ipc/handshake.ts";
import type { IpcServer } from "../ipc/server.ts";
import { openSession } from "../ipc/session.ts";
import type { Logger } from "../log/logger.ts";

/** Channels whose turns run in another process (`wirken ask`), which may still be going on. */
const ELSEWHERE = ["cli"];

/**
 * Audits each tool call the last stop cut off as `tool.interrupted` and gives its session the
 * missing results and the restart notice; a turn cut off with no call running (its message has
 * no reply in the audit log) gets a `message.out` and the notice. With `permissionsDb`, approval requests the last
 * process was waiting on are expired: their turn is gone, so an approval would run nothing (and
 * a request from before sessions were re-keyed names an id no answer matches any more).
 * `wirken ask` sessions and requests are left to their own process. A failure is logged, never
 * fatal: the gateway still starts.
 */
export async function recordInterrupted(
  sessionsDb: string,
  audit: AuditServices["log"],
  log: Logger,
  permissionsDb?: string,
): Promise<CutOff[]> {
  const [
    { openSessionStore },
    { recordInterruptedCalls, recordUnansweredTurns },
    { PermissionStore },
  ] = await Promise
    .all([
      import("../sessions/store.ts"),
      import("../agent/recover.ts"),
      import("../permissions/store.ts"),
    ]);
  if (permissionsDb) {
    try {
      const permissions = PermissionStore.open(permissionsDb);
      try {
        const n = permissions.expireAbandoned(Date.now(), ELSEWHERE);
        if (n > 0) log.warn(`expired ${n} approval request(s) left waiting by the last stop`);
      } finally {
        permissions.close();
      }
    } catch (e) {
      log.error(`could not expire stale approval requests: ${e instanceof Error ? e.message : e}`);
    }
  }
  const sessions = openSessionStore(sessionsDb);
  try {
    const cut = await recordInterruptedCalls({
      sessions,
      audit,
      skipChannels: new Set(ELSEWHERE),
    });
    if (cut.length > 0) {
      log.warn(`recorded ${cut.length} tool call(s) cut off by the last stop as interrupted`);
    }
    const unanswered = await recordUnansweredTurns({
      sessions,
      audit,
      skipChannels: new Set(ELSEWHERE),
      handled: new Set(cut.map((c) => c.session)),
    }).catch((e) => {
      log.error(`could not record unanswered messages: ${e instanceof Error ? e.message : e}`);
      return [];
    });
    if (unanswered.length > 0) {
      log.warn(`${unanswered.length} message(s) the last stop left unanswered are reported failed`);
    }
    return [...cut, ...unanswered];
  } catch (e) {
    log.error(`could not record interrupted tool calls: ${e instanceof Error ? e.message : e}`);
    return [];
  } finally {
    sessions.close();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the timer is cleared then). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Sends the restart notice into every chat conversation in `cut` once its channel's adapter is
 * connected (WebChat needs none: its session shows the notice). Gives up on a conversation
 * after `timeoutMs` without a connection, or when `signal` aborts (the gateway stops).
 */
export async function reportInterrupted(
  cut: readonly CutOff[],
  server: Pick<IpcServer, "connected" | "send">,
  log: Logger,
  signal: AbortSignal,
  timeoutMs = 120_000,
): Promise<void> {
  const { restartNotice, stoppedTools } = await import("../agent/recover.ts");
  const bySession = new Map<string, CutOff[]>();
  for (const c of cut) bySession.set(c.session, [...(bySession.get(c.session) ?? []), c]);
  await Promise.all([...bySession.values()].map(async (calls) => {
    const { channel, conversation } = calls[0];
    if (!isChannel(channel)) return;
    const deadline = Date.now() + timeoutMs;
    while (!server.connected(channel)) {
      if (signal.aborted) return;
      if (Date.now() >= deadline) {
        log.warn("adapter could not deliver a reply", {
          channel,
          error: "the restart notice: the adapter did not connect",
        });
        return;
      }
      await pause(250, signal);
    }
    if (signal.aborted) return;
    const text = restartNotice(stoppedTools(calls));
    const result = await server.send(openSession(channel, conversation), { text })
      .catch((e) => ({ ok: false as const, error: String(e) }));
    if (!result.ok) {
      log.warn("adapter could not deliver a reply", { channel, error: result.error });
    }
  }));
}
