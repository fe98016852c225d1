/**
 * Start-up reconciliation of tool calls a crash cut off. A turn stores the model's tool calls
 * before it runs them and their results only once the whole round has run, so after `kill -9`
 * a session can end in an assistant message whose calls have no results. At gateway start each
 * such call is recorded as `tool.interrupted` in the audit log (unless the audit log shows it
 * finished) and the session gets the missing results, so the model sees in the history what
 * happened instead of assuming the calls ran, and providers accept the history again. The turn
 * then ends with {@linkcode restartNotice}, which the gateway also sends into the conversation:
 * the message that started it is reported failed rather than silently left unanswered.
 *
 * A turn cut off with no tool call running (the model was still answering) is found from the
 * audit log instead: its `message.in` has no reply after it (see {@linkcode recordUnansweredTurns}).
 *
 * @module
 */
import type { AuditEventInput, AuditKind, AuditSink } from "../audit/types.ts";
import type { ChatMessage, ToolCall, ToolResultPart } from "../providers/types.ts";

/** The session store as recovery needs it. */
export interface RecoverySessions {
  list(): { id: string; agent: string; channel: string; conversation: string }[];
  history(id: string, limit?: number): ChatMessage[];
  append(id: string, message: ChatMessage): void;
  /** Ids the session had before it was re-keyed; the audit log still names it by them. */
  formerIds?(id: string): string[];
}

/** An audit event as recovery reads it back. */
export interface RecoveredEvent {
  seq: number;
  kind: string;
  payload: Record<string, unknown>;
}

/** The audit log as recovery needs it: append, and read one session's tool events. */
export interface RecoveryAudit extends AuditSink {
  query(q: {
    session: string;
    kinds: readonly AuditKind[];
    afterSeq?: number;
    order: "desc";
    limit: number;
  }): RecoveredEvent[];
}

/** One call found cut off. */
export interface InterruptedCall {
  session: string;
  channel: string;
  /** The platform's conversation id of the session. */
  conversation: string;
  callId: string;
  tool: string;
  /** `started`: requested (and maybe approved) but no outcome; `finished`: the audit log has its
   * outcome but the result never reached the session; `denied`: the permission check refused it,
   * so it did not run; `not_started`: never requested. */
  state: "started" | "finished" | "denied" | "not_started";
}

/** A turn the last stop cut off while no tool call of it was running: nothing answered it. */
export interface UnansweredTurn {
  session: string;
  channel: string;
  /** The platform's conversation id of the session. */
  conversation: string;
}

/** What start-up recovery found cut off: a tool call, or a turn that had none running. */
export type CutOff = InterruptedCall | UnansweredTurn;

/** The tools of `cut` that the stop kept from finishing (not those that ran or were denied). */
export function stoppedTools(cut: readonly CutOff[]): string[] {
  return cut.filter((c): c is InterruptedCall => "state" in c)
    .filter((c) => c.state === "started" || c.state === "not_started").map((c) => c.tool);
}

const TOOL_KINDS: readonly AuditKind[] = [
  "tool.requested",
  "tool.approved",
  "tool.denied",
  "tool.result",
  "tool.error",
  "tool.interrupted",
];

/** The answer that ends a turn a crash cut off, naming the tools that did not finish. */
export function restartNotice(unfinished: readonly string[]): string {
  const names = [...new Set(unfinished)].join(", ");
  return `I was stopped (the gateway restarted) while working on your last message, so I did ` +
    `not finish it${names ? `: ${names} did not complete` : ""}, and nothing was retried. Ask ` +
    `again if you still need it.`;
}

/** How far back a session's tool events are read: far more than one turn can produce. */
const EVENT_WINDOW = 2000;

/** The result the model sees for a call in `state`. */
export function interruptedResult(call: ToolCall, state: InterruptedCall["state"]): ToolResultPart {
  const content = state === "started"
    ? `${call.name} was interrupted: the gateway stopped (crash or kill) while it was running. ` +
      `It may have done part of its work. Check its effects before relying on them, and tell ` +
      `the user it was interrupted; run it again only if the user asks.`
    : state === "finished"
    ? `${call.name} ran to the end just before the gateway stopped, but its output was lost. ` +
      `Do not guess what it returned; run it again only if the user asks.`
    : state === "denied"
    ? `${call.name} was denied; it did not run. The gateway stopped before this result was ` +
      `stored.`
    : `${call.name} was not run: the gateway stopped before it started.`;
  return { callId: call.id, name: call.name, content, isError: true };
}

function danglingCalls(history: readonly ChatMessage[]): ToolCall[] {
  const last = history.at(-1);
  return last?.role === "assistant" && last.toolCalls?.length ? last.toolCalls : [];
}

/** The loop's own `tool.requested`, the first event of a call's run (the broker's names a code). */
function isCallStart(ev: RecoveredEvent): boolean {
  return ev.kind === "tool.requested" && !("approval" in ev.payload);
}

/**
 * The audit kinds of each cut-off call, by index in `calls`. Call ids are not unique over a
 * session: Ollama and Gemini number them from 0 on every request, so an earlier round or turn
 * has its own `ollama-call-0`. Only the events of the cut-off round count, and they are found
 * from its end: a round runs its calls one after the other, so reading the turn's events newest
 * first, each belongs to the latest call (of that id and tool) not yet passed, a call is passed
 * at its start event, and the first event that fits no call left is an earlier round's.
 */
function kindsByCall(
  calls: readonly ToolCall[],
  newestFirst: readonly RecoveredEvent[],
): Set<string>[] {
  const kinds = calls.map(() => new Set<string>());
  let below = calls.length;
  let open = -1;
  for (const ev of newestFirst) {
    const id = ev.payload.callId;
    if (typeof id !== "string") continue;
    // Written by an earlier start whose session write failed: after every event of the round.
    if (ev.kind === "tool.interrupted") {
      calls.forEach((c, i) => c.id === id && kinds[i].add(ev.kind));
      continue;
    }
    const fits = (i: number) => calls[i].id === id && calls[i].name === ev.payload.tool;
    let at = open >= 0 && fits(open) ? open : -1;
    if (at < 0) {
      for (let i = (open >= 0 ? open : below) - 1; i >= 0 && at < 0; i--) if (fits(i)) at = i;
    }
    if (at < 0) break;
    kinds[at].add(ev.kind);
    below = at;
    open = isCallStart(ev) ? -1 : at;
  }
  return kinds;
}

/**
 * The session's tool events of the turn that was cut off, newest first: after its last
 * `message.in` (the turn's start), under its id and any id it had before re-keying.
 */
function turnEvents(audit: RecoveryAudit, ids: readonly string[]): RecoveredEvent[] {
  const started = Math.max(
    0,
    ...ids.flatMap((session) =>
      audit.query({ session, kinds: ["message.in"], order: "desc", limit: 1 }).map((e) => e.seq)
    ),
  );
  return ids
    .flatMap((session) =>
      audit.query({
        session,
        kinds: TOOL_KINDS,
        afterSeq: started,
        order: "desc",
        limit: EVENT_WINDOW,
      })
    )
    .sort((a, b) => b.seq - a.seq);
}

/**
 * Finds every session ending in unanswered tool calls, audits each call that started but never
 * finished as `tool.interrupted` and appends the missing results to the session. Run it before
 * any turn can start. `skipChannels` are sessions another process may be writing right now
 * (`wirken ask` runs on its own). Idempotent: a second run finds nothing.
 */
export async function recordInterruptedCalls(o: {
  sessions: RecoverySessions;
  audit: RecoveryAudit;
  skipChannels?: ReadonlySet<string>;
}): Promise<InterruptedCall[]> {
  const found: InterruptedCall[] = [];
  for (const s of o.sessions.list()) {
    if (o.skipChannels?.has(s.channel)) continue;
    const calls = danglingCalls(o.sessions.history(s.id, 1));
    if (calls.length === 0) continue;
    const seen = kindsByCall(
      calls,
      turnEvents(o.audit, [s.id, ...o.sessions.formerIds?.(s.id) ?? []]),
    );
    const results: ToolResultPart[] = [];
    for (const [i, call] of calls.entries()) {
      const kinds = seen[i];
      const state: InterruptedCall["state"] = kinds.has("tool.denied")
        ? "denied"
        : kinds.has("tool.result") || kinds.has("tool.error")
        ? "finished"
        : kinds.has("tool.requested")
        ? "started"
        : "not_started";
      found.push({
        session: s.id,
        channel: s.channel,
        conversation: s.conversation,
        callId: call.id,
        tool: call.name,
        state,
      });
      results.push(interruptedResult(call, state));
      // A call whose outcome is already audited needs no second record; one recorded by an
      // earlier start whose session write failed is not recorded twice.
      if (state === "finished" || state === "denied" || kinds.has("tool.interrupted")) continue;
      const event: AuditEventInput = {
        kind: "tool.interrupted",
        session: s.id,
        agent: s.agent,
        channel: s.channel,
        actor: "gateway",
        payload: {
          tool: call.name,
          callId: call.id,
          started: state === "started",
          approved: kinds.has("tool.approved"),
        },
      };
      // Durable before the session says so: the audit trail must never be behind the history.
      await o.audit.append(event);
    }
    o.sessions.append(s.id, { role: "tool", results });
    o.sessions.append(s.id, {
      role: "assistant",
      content: restartNotice(stoppedTools(found.filter((f) => f.session === s.id))),
    });
  }
  return found;
}

/**
 * The events that end a turn in the audit log: its reply (`message.out`, also written for a
 * failed turn and for the restart notice) or a budget stop. A turn's start is `message.in`.
 */
const TURN_KINDS: readonly AuditKind[] = ["message.in", "message.out", "budget.refused"];

/**
 * Finds every session whose newest turn the last stop cut off before anything answered it: its
 * `message.in` has no `message.out` or `budget.refused` after it. The audit log is the signal,
 * not the session history: `message.in` is written before the user's message is stored and
 * `message.out` only after the answer is, so it also catches a crash between those writes, and
 * a failed turn (whose history also ends in the user's message) has its `message.out`.
 *
 * Each such turn gets a `message.out` (`interrupted: true`, actor `gateway`) and, unless
 * `handled` names its session (tool-call recovery already ended that turn with the notice), the
 * restart notice as its answer in the session. The model is not asked again: a turn can have
 * side effects. Run it after {@linkcode recordInterruptedCalls}, before any turn can start.
 * Idempotent: the `message.out` ends the turn, so a second run finds nothing.
 */
export async function recordUnansweredTurns(o: {
  sessions: RecoverySessions;
  audit: RecoveryAudit;
  skipChannels?: ReadonlySet<string>;
  /** Sessions whose cut-off turn tool-call recovery has already answered with the notice. */
  handled?: ReadonlySet<string>;
}): Promise<UnansweredTurn[]> {
  const found: UnansweredTurn[] = [];
  for (const s of o.sessions.list()) {
    if (o.skipChannels?.has(s.channel)) continue;
    const ids = [s.id, ...o.sessions.formerIds?.(s.id) ?? []];
    // The injection guard's record of a suspicious message is a `message.in` too, written
    // just before the turn's own: either way the message is waiting for an answer.
    const newest = ids
      .flatMap((session) => o.audit.query({ session, kinds: TURN_KINDS, order: "desc", limit: 1 }))
      .sort((a, b) => b.seq - a.seq)[0];
    if (newest?.kind !== "message.in") continue;
    const handled = o.handled?.has(s.id) ?? false;
    const notice = restartNotice([]);
    // Durable before the session says so: the audit trail must never be behind the history.
    await o.audit.append({
      kind: "message.out",
      session: s.id,
      agent: s.agent,
      channel: s.channel,
      actor: "gateway",
      payload: handled ? { interrupted: true } : { chars: notice.length, interrupted: true },
    });
    if (handled) continue;
    o.sessions.append(s.id, { role: "assistant", content: notice });
    found.push({ session: s.id, channel: s.channel, conversation: s.conversation });
  }
  return found;
}

/**
 * The history with a result for every tool call. Providers reject a call that is not directly
 * followed by its result; a session can still hold one when a crash hit a turn that start-up
 * recovery skips (`wirken ask`) or that predates it. Such a call is shown as interrupted (it may
 * have run partly), which is the safe reading for the model.
 */
export function closeUnansweredCalls(history: readonly ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  let merged = -1;
  for (const [i, m] of history.entries()) {
    if (i === merged) continue; // its results were completed and pushed with its calls
    out.push(m);
    if (m.role !== "assistant" || !m.toolCalls?.length) continue;
    const next = history[i + 1];
    const answered = next?.role === "tool" ? next.results : [];
    const have = new Set(answered.map((r) => r.callId));
    const missing = m.toolCalls.filter((c) => !have.has(c.id));
    if (missing.length === 0) continue;
    if (next?.role === "tool") merged = i + 1;
    out.push({
      role: "tool",
      results: [...answered, ...missing.map((c) => interruptedResult(c, "started"))],
    });
  }
  return out;
}
