/**
 * One WebChat WebSocket connection: turns (with stop), approval decisions, and the live list of
 * pending approvals. Written against a `send` callback rather than a socket so it is tested
 * without a network; the app wires it to `Deno.upgradeWebSocket` after auth and Origin checks.
 *
 * @module
 */
import { ClientMessageSchema, MAX_FRAME_CHARS, type ServerMessage } from "./protocol.ts";
import type { ChatService } from "./service.ts";

/** Turns one connection may run at once; the page runs one, this caps a misbehaving client. */
const MAX_TURNS = 4;

/** The server side of one connection. */
export interface SocketSession {
  /** Feeds one received frame. */
  receive(data: unknown): void;
  /** The connection closed: cancels every running turn and stops listening. */
  close(): void;
  /** Settles when every turn started so far has ended (for tests and clean shutdown). */
  idle(): Promise<void>;
}

/** Starts serving one connection; sends the current pending approvals at once. */
export function openSocketSession(
  service: ChatService,
  send: (message: ServerMessage) => void,
): SocketSession {
  const turns = new Map<string, AbortController>();
  const running = new Set<Promise<void>>();
  let closed = false;
  const emit = (m: ServerMessage) => {
    if (closed) return;
    try {
      send(m);
    } catch {
      // The socket went away between our check and the send; close() follows.
    }
  };
  const pushApprovals = () => {
    try {
      emit({ type: "approvals", pending: service.pendingApprovals() });
    } catch (e) {
      emit({ type: "error", message: `Pending approvals unavailable: ${errorText(e)}` });
    }
  };
  const unsubscribe = service.onApprovalsChanged(pushApprovals);
  pushApprovals();

  async function runTurn(
    turn: string,
    input: Parameters<ChatService["send"]>[0],
    ctrl: AbortController,
  ) {
    try {
      for await (const event of service.send(input, ctrl.signal)) {
        if (ctrl.signal.aborted) break;
        emit({ type: "event", turn, event });
      }
    } catch (e) {
      if (!ctrl.signal.aborted) {
        emit({ type: "event", turn, event: { type: "error", message: errorText(e) } });
      }
    } finally {
      turns.delete(turn);
      emit({ type: "turn_end", turn, stopped: ctrl.signal.aborted });
    }
  }

  async function decide(approvalId: string, decision: "once" | "remember" | "deny") {
    const pending = service.pendingApprovals().find((a) => a.id === approvalId);
    if (!pending) {
      emit({ type: "error", message: "That approval is no longer pending." });
      return;
    }
    // "Remember for 30 days" exists for tier 2 only: tier 3 asks every time, by design.
    if (decision === "remember" && pending.tier !== 2) {
      emit({ type: "error", message: `Only tier 2 tools can be approved for 30 days.` });
      return;
    }
    try {
      await service.decide(approvalId, decision);
    } catch (e) {
      emit({ type: "error", message: `Decision not recorded: ${errorText(e)}` });
    }
  }

  const track = (p: Promise<void>) => {
    running.add(p);
    p.finally(() => running.delete(p));
  };

  return {
    receive(data) {
      if (closed) return;
      if (typeof data !== "string" || data.length > MAX_FRAME_CHARS) {
        emit({ type: "error", message: "Frames must be JSON text of at most 256 KiB." });
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        emit({ type: "error", message: "Frames must be JSON." });
        return;
      }
      const parsed = ClientMessageSchema.safeParse(json);
      if (!parsed.success) {
        emit({ type: "error", message: `Bad message: ${parsed.error.issues[0]?.message}` });
        return;
      }
      const m = parsed.data;
      switch (m.type) {
        case "send": {
          if (turns.has(m.turn)) {
            emit({ type: "error", turn: m.turn, message: "That turn id is already running." });
            return;
          }
          if (turns.size >= MAX_TURNS) {
            emit({ type: "error", turn: m.turn, message: "Too many turns running at once." });
            return;
          }
          const ctrl = new AbortController();
          turns.set(m.turn, ctrl);
          const input = { agent: m.agent, text: m.text, sessionId: m.sessionId };
          if (input.sessionId === undefined) delete input.sessionId;
          track(runTurn(m.turn, input, ctrl));
          return;
        }
        case "stop":
          turns.get(m.turn)?.abort();
          return;
        case "decide":
          track(decide(m.approvalId, m.decision));
          return;
      }
    },
    close() {
      if (closed) return;
      for (const ctrl of turns.values()) ctrl.abort();
      closed = true;
      unsubscribe();
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

/** A message safe to show: errors' own messages, never stacks. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
