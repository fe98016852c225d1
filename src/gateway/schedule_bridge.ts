/**
 * Scheduled tasks in the gateway: the scheduler's `run` is a message from the task's owner
 * into the target conversation, handled by the one router (allow-list, rate limits, agent,
 * session, tools, tiers, audit, budgets), and the answer is sent into that conversation.
 *
 * Delivery to a chat channel needs the conversation's {@linkcode SessionHandle}; the gateway
 * has not necessarily heard from that conversation since it started, so the handle is opened
 * with `openSession` for exactly the task's channel and conversation (the handle's type keeps
 * it on that channel). The same handle is remembered for approval prompts, so a tool call the
 * run wants approved is asked of the owner in the target conversation. WebChat's answer lives
 * in the conversation's session, which WebChat shows.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import type { Channel } from "../config/schema.ts";
import { CHANNELS } from "../config/schema.ts";
import { isSource, openSession, type OutboundResult, type SessionHandle } from "../ipc/session.ts";
import type { Logger } from "../log/logger.ts";
import type { RunOutcome, Scheduler } from "../scheduler/scheduler.ts";
import type { Task } from "../scheduler/store.ts";
import type { Core } from "./core.ts";

/** What the bridge needs from the gateway. */
export interface ScheduleBridgeOptions {
  core: Pick<Core, "runtime">;
  /** `<data dir>`; the schedule lives in `<data dir>/schedule.db`. */
  dataRoot: string;
  audit: AuditSink;
  log: Logger;
  /** Sends into a chat conversation (the adapter host's `server.send`); absent: no adapters. */
  send?: (handle: SessionHandle<Channel>, message: { text: string }) => Promise<OutboundResult>;
  /** Remembers a conversation's handle for approval prompts (`ConversationPrompts.remember`). */
  remember?: (handle: SessionHandle<Channel>) => void;
  /** Between looks at the store (tests shorten it). */
  tickMs?: number;
}

function isChannel(c: string): c is Channel {
  return (CHANNELS as readonly string[]).includes(c);
}

/** Runs one task: a turn through the router as its owner, then delivery. */
export function taskRunner(
  o: Pick<ScheduleBridgeOptions, "core" | "send" | "remember">,
): (task: Task, signal: AbortSignal) => Promise<RunOutcome> {
  return async (task, signal) => {
    const { channel, conversation } = task;
    if (!isSource(channel)) return { status: "error", detail: `there is no channel ${channel}` };
    // A chat channel's handle can be sent on; WebChat's only keys its session.
    const handle = isChannel(channel) ? openSession(channel, conversation) : null;
    if (handle) o.remember?.(handle);
    // runtime.handle, not core.handle: a scheduled prompt is not a person answering, so text
    // that looks like "approve k3j9xz" must never decide a pending approval.
    const r = await o.core.runtime.handle(
      {
        handle: handle ?? openSession(channel, conversation),
        sender: task.owner,
        text: task.prompt,
      },
      { agent: task.agent, signal },
    );
    let outcome: RunOutcome;
    let text: string | null;
    switch (r.status) {
      case "answered":
        outcome = { status: "delivered", detail: `${r.text.length} characters` };
        text = r.text;
        break;
      case "refused":
        return {
          status: "refused",
          detail: `${task.owner} may not talk to the agent on ${task.channel} (allow-list)`,
        };
      case "limited":
        // A used-up budget stops the task's runs like anyone's turns (no loop can burn money).
        outcome = { status: r.reason === "budget" ? "over_budget" : "limited", detail: r.message };
        text = r.message;
        break;
      case "failed":
        outcome = { status: r.status, detail: r.message };
        text = r.fix ? `${r.message} ${r.fix}` : r.message;
        break;
    }
    if (!handle || !text) return outcome; // WebChat: the session holds the answer.
    if (!o.send) return { status: "undelivered", detail: "no adapter host" };
    const sent = await o.send(handle, { text });
    return sent.ok ? outcome : { status: "undelivered", detail: sent.error };
  };
}

/** Opens the schedule and starts the scheduler; the caller stops it before the core. */
export async function startScheduledTasks(o: ScheduleBridgeOptions): Promise<Scheduler> {
  const [{ ScheduleStore, scheduleDbPath }, { startScheduler }] = await Promise.all([
    import("../scheduler/store.ts"),
    import("../scheduler/scheduler.ts"),
  ]);
  const store = ScheduleStore.open(scheduleDbPath(o.dataRoot));
  const scheduler = startScheduler({
    store,
    run: taskRunner(o),
    audit: o.audit,
    log: o.log.child("scheduler"),
    tickMs: o.tickMs,
  });
  return {
    tick: scheduler.tick,
    idle: scheduler.idle,
    async stop() {
      await scheduler.stop();
      store.close();
    },
  };
}
