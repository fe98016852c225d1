/**
 * Text helpers of the part-2 adapters: splitting long replies at the platform's limit, and
 * recognising the gateway's approval prompt so a channel can show buttons for it.
 *
 * @module
 */

/**
 * Splits `text` into pieces of at most `max` characters, preferring paragraph, then line, then
 * word boundaries, so a long answer arrives as readable messages rather than cut mid-word.
 * Surrogate pairs are never split.
 */
export function splitText(text: string, max: number): string[] {
  if (max < 2) throw new RangeError("max must be at least 2");
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = -1;
    for (const sep of ["\n\n", "\n", " "]) {
      const at = rest.lastIndexOf(sep, max - sep.length);
      // A boundary in the first quarter would leave a tiny piece; a hard cut reads better.
      if (at > max / 4) {
        cut = at + sep.length;
        break;
      }
    }
    if (cut < 0) {
      cut = max;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut--; // keep a surrogate pair together
    }
    const piece = rest.slice(0, cut).trimEnd();
    if (piece.length > 0) out.push(piece);
    rest = rest.slice(cut).replace(/^\s+/, "");
  }
  if (rest.length > 0 || out.length === 0) out.push(rest);
  return out;
}

/** An approval prompt found in an outbound message. */
export interface ApprovalPromptInfo {
  /** The six-character approval code. */
  code: string;
  /** The prompt offers "always" (remember for 30 days). */
  canRemember: boolean;
}

// The last line of the broker's prompt (src/permissions/broker.ts promptText):
// Reply "approve k3j9xz" (add "always" ...) or "deny k3j9xz". Expires in 5 min.
const PROMPT = /Reply "approve ([a-z0-9]{6})"( \(add "always"[^)]*\))? or "deny \1"\./;

/**
 * Recognises the gateway's plain-text approval prompt. Buttons built from it answer with the
 * same words a human would type ("approve <code>"), so the router's one reply parser and its
 * owner check decide, never the adapter.
 */
export function parseApprovalPrompt(text: string): ApprovalPromptInfo | null {
  const m = PROMPT.exec(text);
  if (!m) return null;
  return { code: m[1], canRemember: m[2] !== undefined };
}

/** The reply texts of the approval buttons: label and the text the press stands for. */
export function approvalChoices(info: ApprovalPromptInfo): { label: string; reply: string }[] {
  const choices = [{ label: "Approve", reply: `approve ${info.code}` }];
  if (info.canRemember) choices.push({ label: "Always", reply: `approve ${info.code} always` });
  choices.push({ label: "Deny", reply: `deny ${info.code}` });
  return choices;
}

/** True when `text` is exactly one of the answers {@linkcode approvalChoices} produces. */
export function isApprovalReply(text: string): boolean {
  return /^(approve|deny) [a-z0-9]{6}( always)?$/.test(text);
}
