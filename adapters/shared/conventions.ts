/**
 * The conventions every channel adapter follows, so the gateway sees one shape whatever the
 * platform. Part 1 (Telegram, Discord, Slack) set them; part 2 (Matrix, Teams, WhatsApp)
 * follows them.
 *
 * - **Conversation ids** name where a reply goes: the platform's chat/channel/room id, plus
 *   `/<thread id>` when the message is in a thread or forum topic (`/` because no platform's
 *   chat/room id contains one; Matrix room ids contain `:`). The adapter parses them back
 *   with {@linkcode splitConversation}; the gateway treats them as opaque.
 * - **Sender ids** are the platform's stable user id as a string (never a display name, which
 *   anyone can change): the allow-list (`channels.<ch>.allowFrom`) holds these.
 * - **Groups**: {@linkcode shouldAnswer} decides; by default only mentions and replies to the
 *   bot are answered in groups, direct messages always are. The rule of each group comes from
 *   the owner's config (`conversations[].groupMode`, handed over in the start-up bundle), else
 *   the channel's `<CHANNEL>_GROUP_MODE` variable, else `mention` ({@linkcode groupModeFor}).
 *   The gateway's allow-list then decides who may talk at all.
 * - **Metadata** keys are listed in {@linkcode META}.
 * - **Attachments** are downloaded by the adapter (capped, see attachments.ts) and sent inline
 *   (`data`); `url` stays empty because platform file URLs can embed the bot token.
 * - **Approval prompts** arrive as `approvalRequest` frames and are shown with buttons
 *   (approvals.ts); a click is answered through the `approvalDecision` frame with the clicker's
 *   sender id, and the gateway decides whether that person may approve.
 * - **Outbound text** is Markdown; each adapter renders it into its platform's dialect with
 *   markdown.ts and splits it with chunk.ts at its manifest's `maxTextChars`.
 *
 * @module
 */

/** Metadata keys adapters put on inbound messages (all optional). */
export const META = {
  /** Thread / topic id when the message is in one. */
  thread: "thread",
  /** `"mention"`, `"reply"` or `"dm"`: why the adapter forwarded a group message. */
  reason: "reason",
  /** Why attachments were left out (too large, download failed); shown to the agent. */
  skipped: "attachmentsSkipped",
} as const;

/** When a group message is forwarded to the gateway. */
export type GroupMode = "mention" | "all";

/** The facts about one platform message that decide whether it is forwarded. */
export interface AddressFacts {
  isGroup: boolean;
  /** The bot was @-mentioned. */
  mentioned: boolean;
  /** The message replies to one of the bot's own messages (or is in the bot's thread). */
  repliedToBot: boolean;
  /** The author is a bot (including ourselves): never answered, to avoid loops. */
  fromBot: boolean;
}

/**
 * The rule configured for `conversationId` in `modes`: its own entry, else (for a thread,
 * `<chat>/<thread>`) its group's.
 */
export function configuredGroupMode(
  modes: Readonly<Record<string, GroupMode>> | undefined,
  conversationId: string,
): GroupMode | undefined {
  if (!modes) return undefined;
  if (Object.hasOwn(modes, conversationId)) return modes[conversationId];
  const { chat } = splitConversation(conversationId);
  return Object.hasOwn(modes, chat) ? modes[chat] : undefined;
}

/**
 * The rule of one group: what the owner configured for it, else the channel-wide default from
 * the `<CHANNEL>_GROUP_MODE` variable (`envValue`), else `mention`.
 */
export function groupModeFor(
  ctx: { groupMode?: (conversationId: string) => GroupMode | undefined },
  conversationId: string,
  envValue: string | undefined,
): GroupMode {
  return ctx.groupMode?.(conversationId) ?? (envValue === "all" ? "all" : "mention");
}

/** True when the adapter should forward the message; see the module doc. */
export function shouldAnswer(facts: AddressFacts, mode: GroupMode = "mention"): boolean {
  if (facts.fromBot) return false;
  if (!facts.isGroup) return true;
  return mode === "all" || facts.mentioned || facts.repliedToBot;
}

/** Joins a chat id and an optional thread id into a conversation id. */
export function joinConversation(chat: string, thread?: string | number | null): string {
  return thread === undefined || thread === null || thread === "" ? chat : `${chat}/${thread}`;
}

/** Splits a conversation id back into chat and thread (the first `/` separates them). */
export function splitConversation(id: string): { chat: string; thread: string | null } {
  const at = id.indexOf("/");
  return at <= 0 ? { chat: id, thread: null } : { chat: id.slice(0, at), thread: id.slice(at + 1) };
}

/** Removes a leading `@bot` mention from text so the agent sees the question only. */
export function stripMention(text: string, mention: string | RegExp): string {
  const re = typeof mention === "string"
    ? new RegExp(`^\\s*${mention.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[\\s,:]*`, "i")
    : mention;
  return text.replace(re, "").trim();
}
