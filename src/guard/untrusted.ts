/**
 * Untrusted-content tracking: which content in a conversation did not come from its owner
 * (fetched pages, files, tool and MCP results, messages from other people), and the decision
 * that follows from it: once such content entered, a remembered approval no longer counts,
 * because the model may be acting on the content's instructions rather than the user's.
 *
 * Sources are kept per session. What counts for approvals: any untrusted content of the current
 * turn (the issue's rule), plus content flagged as a suspected injection in ANY earlier turn of
 * the session, because it stays in the history the model reads and an instruction planted on
 * turn 1 can fire on turn 2. `sessionWide: true` makes every source count for the whole
 * session. A gateway that never calls `beginTurn` gets session-wide behaviour (fail-safe).
 * `clear` forgets a session (new conversation, history reset). Held in memory only: after a
 * restart every session starts clean, which errs toward the remembered approval but never
 * toward running anything that would otherwise have been refused.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";

/** Where untrusted content came from. */
export type UntrustedKind = "web" | "file" | "tool" | "mcp" | "message" | "skill";

/** One source of untrusted content in a session. */
export interface UntrustedSource {
  kind: UntrustedKind;
  /** What to show a person: a URL's host and path, a file path, a tool name, a sender id. */
  label: string;
  /** When it entered (ms since the epoch). */
  at: number;
  /** Set when the content looked like instructions aimed at the assistant. */
  injection?: string;
}

/** A suspected prompt injection in some content. */
export interface InjectionFinding {
  /** Why, in a short phrase (shown in prompts and audit). */
  reason: string;
  /** Up to 120 characters around the match, for the audit log. */
  excerpt: string;
}

/** Each heuristic: a pattern and the reason it reports. */
const INJECTION_PATTERNS: readonly [RegExp, string][] = [
  [
    /\b(?:ignore|disregard|forget|override)\b.{0,40}?\b(?:previous|prior|above|earlier|preceding|all|your|the system)\b.{0,20}?\b(?:instructions?|prompts?|rules|directions|guidelines|messages)\b/is,
    "asks the assistant to ignore its instructions",
  ],
  [
    /\b(?:you are now|from now on,? you|new instructions?:|your new (?:task|role|instructions?))/i,
    "tries to give the assistant a new role or instructions",
  ],
  [
    /(?:<\|im_start\|>|<\|system\|>|\[INST\]|<<SYS>>|^\s*#{2,}\s*(?:system|instruction)s?\b|<\/?system>|^\s*assistant\s*:)/im,
    "contains chat-format control markers",
  ],
  [
    /\b(?:send|post|upload|exfiltrate|forward|leak|email|transmit)\b.{0,40}?\b(?:api[ _-]?keys?|tokens?|credentials?|secrets?|passwords?|vault|private keys?|env(?:ironment)? variables?|\.env|ssh keys?)\b/is,
    "asks to send credentials somewhere",
  ],
  [
    /\b(?:read|print|reveal|show|output|cat|dump|display|list)\b.{0,30}?\b(?:the |your )?(?:vault|api[ _-]?keys?|\.env\b|credentials|system prompt|ssh keys?|id_rsa|secrets?)\b/is,
    "asks to reveal secrets or the system prompt",
  ],
  [
    /\b(?:curl|wget|fetch|iwr|invoke-webrequest)\b[^\n|]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b|base64\s+(?:-d|--decode)[^\n|]{0,100}\|\s*(?:ba)?sh\b/i,
    "asks to pipe a download into a shell",
  ],
  [
    /\b(?:do not|don't|never)\s+(?:tell|inform|mention|alert|notify|show)\b.{0,20}?\b(?:the )?user\b|\bwithout (?:telling|informing|asking|notifying) the user\b|\bthe user (?:has )?(?:already )?(?:authori[sz]ed|approved|consented)\b/is,
    "tries to act behind the user's back",
  ],
  [
    /\b(?:encode|convert)\b.{0,30}?\b(?:key|token|secret|password|credentials?)\b.{0,30}?\b(?:base64|hex|rot13)\b|\bsplit\b.{0,30}?\b(?:key|token|secret|password)\b.{0,20}?\b(?:into|in)\b.{0,10}?\b(?:parts|pieces|chunks)\b/is,
    "asks to disguise a secret",
  ],
  [
    /!\[[^\]]{0,100}\]\(\s*https?:\/\/[^)\s]{1,300}[?&][^)\s]{0,200}=\s*(?:\{|\$|%7B|<)[^)]{0,100}\)/i,
    "hides a data-carrying image link (markdown exfiltration)",
  ],
  [
    /\b(?:AI|assistant|language model|LLM|chatbot|agent)s?\b.{0,20}?\b(?:reading|processing|summari[sz]ing) this\b/i,
    "addresses the AI reading the content",
  ],
];

/** Zero-width and bidi control characters: many of them in one text suggest hidden text. */
const HIDDEN = /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * Looks for instructions aimed at the assistant inside content that did not come from the
 * user. A heuristic: it raises a flag (approvals are asked again, the event is audited); it
 * never blocks on its own, so a false positive costs one question.
 */
export function detectInjection(content: string): InjectionFinding | null {
  // Long texts: the patterns are bounded, so scanning everything stays linear.
  for (const [re, reason] of INJECTION_PATTERNS) {
    const m = re.exec(content);
    if (m) {
      const from = Math.max(0, m.index - 30);
      const excerpt = content.slice(from, Math.min(content.length, from + 120)).replace(
        /\s+/g,
        " ",
      );
      return { reason, excerpt };
    }
  }
  const hidden = content.match(HIDDEN)?.length ?? 0;
  if (hidden >= 8) {
    return {
      reason: "contains hidden (zero-width or bidi) characters",
      excerpt: `${hidden} chars`,
    };
  }
  return null;
}

/** The source kind of a tool's result, by the tool's name. */
export function sourceKindOfTool(tool: string): UntrustedKind {
  if (tool.startsWith("mcp_")) return "mcp";
  if (tool.startsWith("skill_")) return "skill";
  if (/^(?:web_|http_|browse|fetch)/.test(tool)) return "web";
  if (/^(?:read_file|read|list_dir|glob|grep|search_files)/.test(tool)) return "file";
  return "tool";
}

/** Options of {@linkcode UntrustedTracker}. */
export interface UntrustedTrackerOptions {
  /** Where suspected injections are recorded (never blocks; failures are swallowed). */
  audit?: AuditSink;
  /** Every source counts until `clear`, not only this turn's (default false; see above). */
  sessionWide?: boolean;
  /** Sources kept per session (oldest dropped; default 20). */
  maxSources?: number;
  now?: () => number;
}

/** Who and where, for audit events. */
export interface TaintContext {
  session: string;
  agent?: string;
  channel?: string;
}

interface SessionTaint {
  sources: UntrustedSource[];
  /** Index of the first source of the current turn. */
  turnStart: number;
}

/** Tracks untrusted content per session. One instance per gateway. */
export class UntrustedTracker {
  readonly #o: UntrustedTrackerOptions;
  readonly #sessions = new Map<string, SessionTaint>();

  /** Builds an empty tracker. */
  constructor(options: UntrustedTrackerOptions = {}) {
    this.#o = options;
  }

  #state(session: string): SessionTaint {
    let s = this.#sessions.get(session);
    if (!s) {
      s = { sources: [], turnStart: 0 };
      this.#sessions.set(session, s);
    }
    return s;
  }

  /**
   * Starts a turn. A message from someone who is not an owner of the conversation is itself
   * untrusted content (and is checked for injection like any other).
   */
  async beginTurn(
    ctx: TaintContext & { sender: string; senderIsOwner: boolean; text?: string },
  ): Promise<void> {
    const s = this.#state(ctx.session);
    s.turnStart = s.sources.length;
    if (!ctx.senderIsOwner) {
      await this.record(ctx, { kind: "message", label: `message from ${ctx.sender}` }, ctx.text);
    }
  }

  /**
   * Records content from outside the user entering the session; checks it for injection
   * (audited when found). Returns the finding, if any.
   */
  async record(
    ctx: TaintContext,
    source: { kind: UntrustedKind; label: string },
    content?: string,
  ): Promise<InjectionFinding | null> {
    const finding = content ? detectInjection(content) : null;
    const s = this.#state(ctx.session);
    s.sources.push({
      kind: source.kind,
      label: source.label.slice(0, 200),
      at: (this.#o.now ?? Date.now)(),
      ...(finding ? { injection: finding.reason } : {}),
    });
    const max = this.#o.maxSources ?? 20;
    if (s.sources.length > max) {
      const drop = s.sources.length - max;
      // Keep the first injection-flagged source if it would be dropped: it matters most.
      const flagged = s.sources.slice(0, drop).find((x) => x.injection);
      s.sources.splice(0, drop);
      if (flagged) s.sources[0] = flagged;
      s.turnStart = Math.max(0, s.turnStart - drop);
    }
    if (finding && this.#o.audit) {
      await this.#o.audit.append({
        kind: source.kind === "message" ? "message.in" : "tool.result",
        session: ctx.session,
        agent: ctx.agent,
        channel: ctx.channel,
        actor: "gateway",
        payload: {
          guard: "injection.suspected",
          source: source.kind,
          label: source.label.slice(0, 200),
          reason: finding.reason,
          excerpt: finding.excerpt,
        },
      }).catch(() => {});
    }
    return finding;
  }

  /** Every untrusted source in the session (oldest first). */
  sources(session: string): readonly UntrustedSource[] {
    return this.#sessions.get(session)?.sources ?? [];
  }

  /**
   * The untrusted source that makes remembered approvals not apply now, to name in the prompt:
   * the most recent suspected injection of the session, else the most recent source of this
   * turn (of the session with `sessionWide`); undefined when there is none.
   */
  taintOf(session: string): UntrustedSource | undefined {
    const s = this.#sessions.get(session);
    if (!s) return undefined;
    const list = s.sources;
    for (let i = list.length - 1; i >= 0; i--) if (list[i].injection) return list[i];
    const from = this.#o.sessionWide ? 0 : s.turnStart;
    return list.length > from ? list[list.length - 1] : undefined;
  }

  /** Forgets a session's taint (new conversation, history reset). */
  clear(session: string): void {
    this.#sessions.delete(session);
  }
}

/** What {@linkcode rememberedApprovalApplies} decides. */
export type RememberedDecision =
  | { applies: true }
  | {
    applies: false;
    /** The untrusted source to name in the prompt. */
    source: UntrustedSource;
    /** A line for the approval prompt. */
    note: string;
  };

/** The prompt line naming an untrusted source. */
export function untrustedNote(source: UntrustedSource): string {
  const what = {
    web: "a fetched web page",
    file: "a file",
    tool: "a tool result",
    mcp: "an MCP tool result",
    message: "a message from someone else",
    skill: "a skill's output",
  }[source.kind];
  const flag = source.injection ? ` It looked like a prompt injection (${source.injection}).` : "";
  return `Caution: untrusted content entered this conversation before this request: ${what} (${source.label}).${flag} Check that you asked for this.`;
}

/**
 * The permission broker asks this before using a remembered T2/T3 approval: after untrusted
 * content entered the session, the remembered approval does not apply and the user is asked
 * explicitly, with {@linkcode RememberedDecision} `note` in the prompt.
 */
export function rememberedApprovalApplies(
  tracker: UntrustedTracker | undefined,
  session: string,
  tier: 1 | 2 | 3,
): RememberedDecision {
  if (!tracker || tier === 1) return { applies: true };
  const source = tracker.taintOf(session);
  if (!source) return { applies: true };
  return { applies: false, source, note: untrustedNote(source) };
}
