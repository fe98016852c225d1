/**
 * Approval buttons. The gateway sends an `approvalRequest` frame; the adapter shows the summary
 * with Approve / Deny buttons whose callback data is {@linkcode buttonData}, and resolves the
 * frame with the first click (`decidedBy` = the clicker's platform id). Whether that person may
 * approve is the gateway's decision (its owner list); the adapter never decides it.
 *
 * Callback data is short (Telegram allows 64 bytes) and carries a random token, not the
 * request id, so a forged click cannot name a request it has not seen.
 *
 * @module
 */
import type { ApprovalRequestFrame } from "../../src/ipc/client.ts";
import type { ApprovalAnswer } from "../../src/ipc/session.ts";

/** Prefix of every approval button's data. */
const PREFIX = "wk1";

/** The button payload for `decision` on the prompt with `token`. */
export function buttonData(token: string, decision: "approve" | "deny"): string {
  return `${PREFIX}:${decision === "approve" ? "a" : "d"}:${token}`;
}

/** Parses button data; `null` for anything that is not one of ours. */
export function parseButtonData(
  data: string,
): { token: string; decision: "approve" | "deny" } | null {
  const m = /^wk1:([ad]):([A-Za-z0-9_-]{8,32})$/.exec(data);
  return m ? { token: m[2], decision: m[1] === "a" ? "approve" : "deny" } : null;
}

interface Waiting {
  resolve(answer: ApprovalAnswer): void;
  timer: ReturnType<typeof setTimeout>;
  conversationId: string;
}

/** Open prompts of one adapter, by token. */
export class ApprovalButtons {
  readonly #open = new Map<string, Waiting>();

  /**
   * Registers `request` and returns its token plus a promise of the answer. Silence until the
   * request expires is a denial by nobody.
   */
  open(request: ApprovalRequestFrame): { token: string; answer: Promise<ApprovalAnswer> } {
    const token = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    const answer = new Promise<ApprovalAnswer>((resolve) => {
      const ms = Math.max(1000, Math.min(request.expiresAtMs - Date.now(), 3_600_000));
      const timer = setTimeout(() => {
        this.#open.delete(token);
        resolve({ approved: false, decidedBy: "" });
      }, ms);
      this.#open.set(token, { resolve, timer, conversationId: request.conversationId });
    });
    return { token, answer };
  }

  /**
   * A click: resolves the prompt if `data` names an open one in `conversationId`. Returns what
   * was decided, or `null` when the click was stale or not ours.
   */
  click(
    data: string,
    conversationId: string,
    senderId: string,
  ): { decision: "approve" | "deny" } | null {
    const parsed = parseButtonData(data);
    if (!parsed) return null;
    const w = this.#open.get(parsed.token);
    if (!w || w.conversationId !== conversationId) return null;
    this.#open.delete(parsed.token);
    clearTimeout(w.timer);
    w.resolve({ approved: parsed.decision === "approve", decidedBy: senderId });
    return { decision: parsed.decision };
  }

  /** Denies everything still open (the adapter is stopping). */
  close(): void {
    for (const w of this.#open.values()) {
      clearTimeout(w.timer);
      w.resolve({ approved: false, decidedBy: "" });
    }
    this.#open.clear();
  }
}

/** The one-line text of a prompt, for platforms and fallbacks. */
export function approvalText(request: ApprovalRequestFrame): string {
  return request.summary || `Allow ${request.toolName} (tier ${request.tier})?`;
}
