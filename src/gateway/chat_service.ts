/**
 * WebChat's `ChatService`, implemented over the core: every WebChat message enters through the
 * same router as the chat channels (channel `webchat`, sender `local`), so rate limits,
 * permissions and audit apply with no side door.
 *
 * @module
 */
import type { AuditLog } from "../audit/log.ts";
import { redact } from "../log/redact.ts";
import { WirkenError } from "../errors.ts";
import type { ChatMessage } from "../providers/types.ts";
import type { Vault } from "../vault/mod.ts";
import type {
  ApprovalDecision,
  ChatEvent,
  ChatInput,
  ChatService,
  PendingApproval,
  StatusView,
  TranscriptEntry,
} from "../webchat/service.ts";
import type { Core } from "./core.ts";
import { openSession } from "../ipc/session.ts";

/** WebChat's conversations carry this channel; its one user is `local`. */
export const WEBCHAT = "webchat" as const;

/** What the service reads besides the core. */
export interface ChatServiceDeps {
  core: Core;
  audit: AuditLog;
  vault: Vault;
  /** The agent's workspace folder (config `agents[].workspace`, else `<data>/workspace/<id>`). */
  workspaceFor: (agent: string) => string;
  /** Largest upload accepted. */
  maxUploadBytes: number;
  /** Adapter status for the panel. */
  status: () => StatusView;
}

function transcriptOf(messages: readonly ChatMessage[]): TranscriptEntry[] {
  const out: TranscriptEntry[] = [];
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", text: m.content });
    else if (m.role === "assistant") {
      if (m.content) out.push({ role: "assistant", text: m.content });
    } else {
      for (const r of m.results) {
        out.push({ role: "tool", tool: r.name, text: r.content.slice(0, 2000) });
      }
    }
  }
  return out;
}

function parseArgs(text: string): unknown {
  try {
    return redact(JSON.parse(text));
  } catch {
    return text.slice(0, 2000);
  }
}

/**
 * The WebChat conversation of `agent`'s session id (`<webchat handle key>:<agent>`); null for
 * other channels' sessions and other agents'.
 */
export function webchatConversation(sessionId: string, agent: string): string | null {
  const prefix = `${WEBCHAT}:`;
  const suffix = `:${agent}`;
  if (!sessionId.startsWith(prefix) || !sessionId.endsWith(suffix)) return null;
  const encoded = sessionId.slice(prefix.length, sessionId.length - suffix.length);
  if (!encoded || encoded.includes(":")) return null;
  try {
    const conv = decodeURIComponent(encoded);
    // Only ids that are their handle's key: the session must be the one this names.
    return openSession(WEBCHAT, conv).key === `${prefix}${encoded}` ? conv : null;
  } catch {
    return null;
  }
}

/** Builds the service. */
export function createChatService(d: ChatServiceDeps): ChatService {
  const { core } = d;
  const toPending = (p: ReturnType<Core["broker"]["pending"]>[number]): PendingApproval => ({
    id: p.code,
    tool: p.tool,
    tier: p.tier,
    args: p.summary,
    sandbox: p.sandbox,
    agent: p.agent,
    channel: p.channel,
    session: p.session,
    requestedAt: new Date(p.createdAt).toISOString(),
  });

  return {
    agents: () =>
      core.runtime.agents().map((a) => ({
        id: a.id,
        name: a.name,
        model: `${a.provider}/${a.model}`,
      })),
    sessions: (agent) =>
      core.runtime.sessions(agent).map((s) => ({
        id: s.id,
        agent: s.agent,
        channel: s.channel,
        title: `${s.channel === WEBCHAT ? "WebChat" : s.channel} · ${s.messageCount} messages`,
        updatedAt: s.updatedAt,
      })),
    transcript: (id) => transcriptOf(core.runtime.transcript(id)),

    async *send(input: ChatInput, signal: AbortSignal): AsyncGenerator<ChatEvent> {
      let conversation: string;
      if (input.sessionId) {
        const conv = webchatConversation(input.sessionId, input.agent);
        if (!conv) {
          yield {
            type: "error",
            message:
              "WebChat can show that conversation but answers only in its own; start a new one.",
          };
          yield { type: "done" };
          return;
        }
        conversation = conv;
      } else {
        conversation = crypto.randomUUID();
      }
      const handle = openSession(WEBCHAT, conversation);
      const sessionId = `${handle.key}:${input.agent}`;
      yield { type: "session", sessionId };
      const msg = { handle, sender: "local", text: input.text };
      const answer = await core.broker.handleReply({
        channel: WEBCHAT,
        conversation,
        sender: msg.sender,
        text: msg.text,
      });
      if (answer) {
        core.approvals.changed();
        yield {
          type: answer.accepted ? "notice" : "error",
          ...(answer.accepted ? { text: answer.message } : { message: answer.message }),
        } as ChatEvent;
        yield { type: "done" };
        return;
      }
      // Streamed text is held back a little so a secret split across deltas is still caught;
      // each run of text between tool events gets its own guard (one audit per run).
      const guardRun = () => core.streamGuard({ channel: WEBCHAT, session: sessionId });
      let out = guardRun();
      for await (const e of core.runtime.stream(msg, { agent: input.agent, signal })) {
        if (e.type === "text") {
          const safe = out.push(e.text);
          if (safe) yield { type: "text", text: safe };
          continue;
        }
        const rest = await out.end();
        if (rest) yield { type: "text", text: rest };
        out = guardRun();
        if (e.type === "tool_call") {
          yield {
            type: "tool_call",
            id: e.call.id,
            tool: e.call.name,
            args: parseArgs(e.call.arguments),
          };
        } else if (e.type === "tool_result") {
          yield {
            type: "tool_result",
            id: e.result.callId,
            ok: !e.result.isError,
            summary: e.result.content.slice(0, 300),
          };
        } else if (e.type === "round_limit") {
          yield { type: "notice", text: `Stopped after ${e.rounds} tool rounds.` };
        } else if (e.type === "result") {
          const r = e.result;
          if (r.status === "limited") yield { type: "notice", text: r.message };
          else if (r.status === "refused") {
            yield { type: "error", message: "This conversation is not allowed." };
          } else if (r.status === "failed") {
            yield { type: "error", message: r.fix ? `${r.message} ${r.fix}` : r.message };
          }
        }
      }
      const rest = await out.end();
      if (rest) yield { type: "text", text: rest };
      yield { type: "done" };
    },

    async upload(agent, name, bytes) {
      const known = core.runtime.agents().some((a) => a.id === agent);
      if (!known) {
        throw new WirkenError(`There is no agent called ${agent}.`, {
          fix: "Pick an agent from the list.",
        });
      }
      const { Workspace } = await import("../tools/fs/confine.ts");
      const ws = await Workspace.open(d.workspaceFor(agent), { create: true });
      const { rel } = await ws.writeFile(`uploads/${name}`, bytes, d.maxUploadBytes);
      return rel;
    },

    pendingApprovals: () => core.broker.pending().map(toPending),
    decide(id: string, decision: ApprovalDecision): Promise<void> {
      const pending = core.permissions.getPending(id);
      if (!pending || pending.status !== "pending") {
        throw new WirkenError(`There is no waiting request ${id}.`, {
          fix: "It was answered or expired.",
        });
      }
      if (decision === "remember" && pending.tier !== 2) {
        throw new WirkenError("Only tier-2 tools can be approved for 30 days.", {
          fix: "Approve once.",
        });
      }
      // The person holding the WebChat session is the owner at this machine, like the terminal
      // (`wirken permissions approve`): the waiting broker sees the decision and audits it.
      const ok = core.permissions.decide(
        id,
        decision === "deny" ? "denied" : "approved",
        "local",
        WEBCHAT,
        decision === "remember",
        Date.now(),
      );
      if (!ok) throw new WirkenError(`Request ${id} was answered or expired just now.`);
      core.approvals.changed();
      return Promise.resolve();
    },
    onApprovalsChanged: (listener) => core.approvals.onChanged(listener),

    status: d.status,
    audit(limit) {
      const events = d.audit.query({ limit, order: "desc" }).map((e) => ({
        seq: e.seq,
        time: e.time,
        kind: e.kind,
        actor: e.actor,
        channel: e.channel ?? undefined,
        session: e.session ?? undefined,
        summary: JSON.stringify(redact(e.payload)).slice(0, 300),
      }));
      // Without options the log pins signatures to the gateway's own key from the vault.
      const v = d.audit.verify();
      const detail = v.ok
        ? `chain verifies: ${v.checked} events${
          v.warnings.length ? ` (${v.warnings.join("; ")})` : ""
        }`
        : `BROKEN at seq ${v.failures[0]?.seq}: ${v.failures[0]?.problem}`;
      return Promise.resolve({ events, verified: { ok: v.ok, detail } });
    },
    permissions: () =>
      core.permissions.listRemembered(Date.now()).map((r) => ({
        tool: r.tool,
        agent: r.agent,
        expiresAt: new Date(r.expiresAt).toISOString(),
      })),
    revokePermission(tool, agent) {
      core.permissions.revoke(tool, agent);
      return d.audit.append({
        kind: "config.change",
        actor: "local",
        channel: WEBCHAT,
        agent,
        payload: { action: "permission revoked", tool },
      }).then(() => {});
    },
    credentials: () =>
      d.vault.list().map((c) => ({
        name: c.name,
        expiresAt: c.expiresAt?.toISOString() ?? null,
        updatedAt: c.updatedAt.toISOString(),
      })),
  };
}
