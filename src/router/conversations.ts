/**
 * Per-conversation (group) settings from `config.conversations`: which agent answers there,
 * a model, an addition to the instructions, and narrower tool and sender lists. They only
 * narrow: a conversation's tool list is intersected with its agent's (tiers never change), and
 * its sender list with the channel's allow-list.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";

/** One conversation's settings. */
export type ConversationSettings = Config["conversations"][number];

/** The settings of `addr`'s conversation, if any (the first matching entry). */
export function conversationSettings(
  config: Pick<Config, "conversations">,
  addr: { channel: string; conversation: string },
): ConversationSettings | undefined {
  // `?? []`: configs built before this key existed (and not re-parsed) have no list.
  return (config.conversations ?? []).find((c) =>
    c.channel === addr.channel && c.conversation === addr.conversation
  );
}

/** The tool names allowed: the agent's list narrowed by the conversation's (never widened). */
export function narrowTools(
  agentTools: readonly string[] | undefined,
  groupTools: readonly string[] | undefined,
): Set<string> | undefined {
  if (!groupTools) return agentTools ? new Set(agentTools) : undefined;
  const group = new Set(groupTools);
  return new Set(agentTools ? agentTools.filter((t) => group.has(t)) : group);
}
