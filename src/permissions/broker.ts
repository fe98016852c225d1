/**
 * The approval broker: decides whether one tool call may run, asking the user in the same
 * conversation when its tier requires it.
 *
 * Its `check` is the agent loop's `PermissionCheck`. Flow of a call that needs approval:
 * the request is stored (`permissions.db`) and audited, the prompt is sent to the conversation
 * through `ask` (chat reply with a short code, buttons, WebChat dialog), and the call waits
 * until someone decides: a reply routed here through {@linkcode ApprovalBroker.handleReply} or
 * {@linkcode ApprovalBroker.decide}, or `wirken permissions approve` from the terminal (seen
 * by polling the database, since that runs in another process). Silence past the timeout
 * (default 5 minutes) is a denial. Only the conversation's owners may decide; a reply from
 * anybody else is refused and audited. Every decision is audited; if the audit log cannot
 * record it, the call is denied.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import type { PermissionRequest } from "../agent/loop.ts";
import type { Tier } from "../tools/types.ts";
import { conversationKey } from "../ipc/session.ts";
import {
  effectiveTier,
  type PermissionPolicy,
  REMEMBER_MS,
  scopeOf,
  summarize,
  TIER_MEANING,
} from "./policy.ts";
import type { PendingApproval, PermissionStore } from "./store.ts";

/** Default time a request waits for an answer. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60 * 1000;

/** What `ask` is given: everything needed to render a prompt on any surface. */
export interface ApprovalPrompt {
  code: string;
  tool: string;
  tier: Tier;
  summary: string;
  /** Where the call runs; `host` means no sandbox and must be shown as such. */
  sandbox: string;
  channel: string;
  session: string;
  /** Who asked. */
  sender: string;
  expiresAt: number;
  /** Whether "always" (remember for 30 days) is offered: tier 2 only. */
  canRemember: boolean;
  /** A ready-made plain-text prompt for chat surfaces without buttons. */
  text: string;
}

/** Options of {@linkcode ApprovalBroker}. */
export interface BrokerOptions {
  store: PermissionStore;
  audit: AuditSink;
  policy?: PermissionPolicy;
  /** May `sender` decide approvals on `channel`? (the channel's owner allow-list). */
  isOwner: (channel: string, sender: string) => boolean;
  /** Shows the prompt in the conversation; failures are logged by the caller, the wait goes on. */
  ask: (prompt: ApprovalPrompt) => Promise<void>;
  /** Which sandbox the tool runs in (default `sandbox`); shown in every prompt. */
  sandboxFor?: (tool: string) => string;
  /** Clock in ms (tests inject one). */
  now?: () => number;
  timeoutMs?: number;
  /** How often the database is polled for terminal decisions (default 250 ms). */
  pollMs?: number;
  /**
   * Whether a remembered approval may stand in for asking, in this session now. After untrusted
   * content (a fetched page, a stranger's message) entered the session it may not: the user is
   * asked again and `note` (naming that source) is added to the prompt. Default: it applies.
   */
  rememberedApplies?: (session: string, tier: Tier) => { applies: boolean; note?: string };
}

/** A chat/dialog answer to a prompt. */
export interface ApprovalAnswer {
  code: string;
  decision: "approve" | "deny";
  /** Remember for 30 days (tier 2 only; ignored for tier 3). */
  remember: boolean;
  /** The user answering. */
  sender: string;
  channel: string;
  /**
   * Where the answer was written: the session id (`<channel>:<encoded conversation>:<agent>`), or the
   * raw conversation id when the caller has not bound an agent yet (the router answers approval
   * replies before dispatch, since the asking turn holds the session). An answer only counts
   * in the conversation that was asked.
   */
  session?: string;
  conversation?: string;
}

/** True when `answer` comes from the conversation of `pending`. */
export function sameConversation(
  pending: { channel: string; session: string },
  answer: { channel: string; session?: string; conversation?: string },
): boolean {
  if (pending.channel !== answer.channel) return false;
  if (answer.session !== undefined) return pending.session === answer.session;
  if (answer.conversation === undefined) return false;
  // Session ids are `<conversation key>:<agent>`; agent ids never contain ':'.
  const prefix = `${conversationKey(answer.channel, answer.conversation)}:`;
  return pending.session.startsWith(prefix) && !pending.session.slice(prefix.length).includes(":");
}

/** What happened to an answer, with a line to send back. */
export interface AnswerOutcome {
  accepted: boolean;
  message: string;
}

const REPLY =
  /^\s*(approve|allow|yes|deny|reject|no)\s+([a-z0-9]{6})(?:\s+(always|remember|30d))?\s*[.!]?\s*$/i;

/** Parses "approve k3j9xz [always]" / "deny k3j9xz"; null when the text is not an answer. */
export function parseReply(
  text: string,
): { code: string; decision: "approve" | "deny"; remember: boolean } | null {
  const m = REPLY.exec(text);
  if (!m) return null;
  const word = m[1].toLowerCase();
  return {
    code: m[2].toLowerCase(),
    decision: word === "approve" || word === "allow" || word === "yes" ? "approve" : "deny",
    remember: m[3] !== undefined,
  };
}

/** Renders the plain-text prompt. Host execution is stated, never implied. */
export function promptText(p: Omit<ApprovalPrompt, "text">, now: number): string {
  const minutes = Math.max(1, Math.round((p.expiresAt - now) / 60_000));
  const where = p.sandbox === "host"
    ? "WARNING: runs DIRECTLY ON THIS COMPUTER, without a sandbox"
    : `runs in the ${p.sandbox} sandbox`;
  const remember = p.canRemember ? ` (add "always" to allow it for 30 days)` : "";
  return [
    `Approval needed: ${p.summary}`,
    `Tier ${p.tier}: ${TIER_MEANING[p.tier]}; ${where}.`,
    `Reply "approve ${p.code}"${remember} or "deny ${p.code}". Expires in ${minutes} min.`,
  ].join("\n");
}

/** Decides tool calls; see the module comment. */
export class ApprovalBroker {
  readonly #o: BrokerOptions;
  readonly #now: () => number;
  readonly #waiters = new Map<string, () => void>();

  /** Builds a broker; nothing runs until `check` is called. */
  constructor(options: BrokerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The agent loop's permission callback. */
  readonly check = async (req: PermissionRequest): Promise<"allow" | "deny"> => {
    const tier = effectiveTier(req.tool, req.tier, req.input, this.#o.policy);
    if (tier === 1) return "allow";
    const scope = scopeOf(req.tool, req.input);
    const base = { agent: req.agent, channel: req.channel, session: req.session };
    const key = {
      agent: req.agent,
      tool: req.tool,
      scope,
      channel: req.channel,
      sender: req.sender,
    };
    const caution = this.#o.rememberedApplies?.(req.session, tier);
    if (tier === 2 && (caution?.applies ?? true)) {
      const remembered = this.#o.store.findRemembered(key, this.#now());
      if (remembered) {
        const recorded = await this.#audit({
          ...base,
          kind: "tool.approved",
          actor: remembered.approvedBy,
          payload: {
            tool: req.tool,
            callId: req.callId,
            tier,
            scope,
            via: "remembered",
            expiresAt: new Date(remembered.expiresAt).toISOString(),
          },
        });
        return recorded ? "allow" : "deny";
      }
    }
    const now = this.#now();
    const sandbox = this.#o.sandboxFor?.(req.tool) ?? "sandbox";
    const pending = this.#o.store.addPending({
      callId: req.callId,
      agent: req.agent,
      tool: req.tool,
      tier,
      scope,
      channel: req.channel,
      session: req.session,
      sender: req.sender,
      summary: summarize(req.tool, req.input),
      sandbox,
      createdAt: now,
      expiresAt: now + (this.#o.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS),
    });
    const asked = await this.#audit({
      ...base,
      kind: "tool.requested",
      actor: req.sender,
      payload: {
        tool: req.tool,
        callId: req.callId,
        tier,
        scope,
        approval: pending.code,
        sandbox,
      },
    });
    if (!asked) {
      this.#o.store.decide(pending.code, "denied", "gateway", "audit-failure", false, now);
      return "deny";
    }
    const prompt: Omit<ApprovalPrompt, "text"> = {
      code: pending.code,
      tool: req.tool,
      tier,
      summary: pending.summary,
      sandbox,
      channel: req.channel,
      session: req.session,
      sender: req.sender,
      expiresAt: pending.expiresAt,
      canRemember: tier === 2,
    };
    // A surface that fails to show the prompt must not approve by default: the wait goes on
    // (the terminal can still answer) and ends in expiry.
    const note = caution && !caution.applies && caution.note ? `\n${caution.note}` : "";
    await this.#o.ask({ ...prompt, text: promptText(prompt, now) + note }).catch(() => {});
    const final = await this.#wait(pending);
    if (final.status === "approved") {
      const remember = final.remember && tier === 2;
      const recorded = await this.#audit({
        ...base,
        kind: "tool.approved",
        actor: final.decidedBy ?? "unknown",
        payload: {
          tool: req.tool,
          callId: req.callId,
          tier,
          scope,
          approval: final.code,
          via: final.decidedVia,
          remember,
        },
      });
      if (!recorded) return "deny";
      if (remember) {
        const at = this.#now();
        this.#o.store.remember(key, final.decidedBy ?? "unknown", at, at + REMEMBER_MS);
      }
      return "allow";
    }
    await this.#audit({
      ...base,
      kind: "tool.denied",
      actor: final.status === "expired" ? "gateway" : final.decidedBy ?? "unknown",
      payload: {
        tool: req.tool,
        callId: req.callId,
        tier,
        scope,
        approval: final.code,
        reason: final.status === "expired" ? "expired" : "denied",
        via: final.decidedVia,
      },
    });
    return "deny";
  };

  async #audit(event: Parameters<AuditSink["append"]>[0]): Promise<boolean> {
    try {
      await this.#o.audit.append(event);
      return true;
    } catch {
      return false;
    }
  }

  async #wait(pending: PendingApproval): Promise<PendingApproval> {
    const poll = this.#o.pollMs ?? 250;
    try {
      while (true) {
        const current = this.#o.store.getPending(pending.code);
        if (!current) return { ...pending, status: "denied", decidedBy: "gateway" };
        if (current.status !== "pending") return current;
        if (this.#now() >= current.expiresAt) {
          this.#o.store.expire(current.code, this.#now());
          return this.#o.store.getPending(current.code) ?? { ...current, status: "expired" };
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.#waiters.delete(pending.code);
            resolve();
          }, poll);
          this.#waiters.set(pending.code, () => {
            clearTimeout(timer);
            this.#waiters.delete(pending.code);
            resolve();
          });
        });
      }
    } finally {
      this.#waiters.delete(pending.code);
    }
  }

  /**
   * Applies an answer from a chat, a button or the WebChat dialog. Refused (and audited) when
   * the sender is not an owner of the channel or answers from another conversation.
   */
  async decide(answer: ApprovalAnswer): Promise<AnswerOutcome> {
    const pending = this.#o.store.getPending(answer.code);
    if (!pending || pending.status !== "pending" || this.#now() >= pending.expiresAt) {
      return { accepted: false, message: `There is no waiting request with code ${answer.code}.` };
    }
    if (!sameConversation(pending, answer)) {
      await this.#audit({
        kind: "auth.failure",
        channel: answer.channel,
        session: answer.session,
        actor: answer.sender,
        payload: { reason: "approval from another conversation", approval: answer.code },
      });
      return { accepted: false, message: "That request belongs to another conversation." };
    }
    if (!this.#o.isOwner(answer.channel, answer.sender)) {
      await this.#audit({
        kind: "auth.failure",
        channel: answer.channel,
        session: answer.session,
        actor: answer.sender,
        payload: { reason: "approval by a non-owner", approval: answer.code },
      });
      return { accepted: false, message: "Only the owner of this conversation can answer that." };
    }
    const decided = this.#o.store.decide(
      answer.code,
      answer.decision === "approve" ? "approved" : "denied",
      answer.sender,
      answer.channel,
      answer.remember,
      this.#now(),
    );
    if (!decided) {
      return { accepted: false, message: `There is no waiting request with code ${answer.code}.` };
    }
    this.#waiters.get(answer.code.toLowerCase())?.();
    const verb = answer.decision === "approve" ? "Approved" : "Denied";
    const remembered = answer.decision === "approve" && answer.remember && pending.tier === 2
      ? " (remembered for 30 days)"
      : "";
    return { accepted: true, message: `${verb}: ${pending.summary}${remembered}.` };
  }

  /**
   * Routes a chat message: returns null when it is not an approval answer (handle it as a
   * normal message), otherwise the outcome to reply with.
   */
  async handleReply(
    message: {
      channel: string;
      session?: string;
      conversation?: string;
      sender: string;
      text: string;
    },
  ): Promise<AnswerOutcome | null> {
    const parsed = parseReply(message.text);
    if (!parsed) return null;
    return await this.decide({
      ...parsed,
      sender: message.sender,
      channel: message.channel,
      session: message.session,
      conversation: message.conversation,
    });
  }

  /** Requests waiting now (for WebChat and `wirken status`). */
  pending(): PendingApproval[] {
    return this.#o.store.listPending(this.#now());
  }
}
