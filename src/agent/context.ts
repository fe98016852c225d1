/**
 * Context assembly for one turn: the system prompt of an agent, the tools announced to the
 * model, and the history trimmed to the model's context budget.
 *
 * Token counts are estimated (about 4 characters per token, plus a small cost per message)
 * because no provider offers a cheap exact count; the estimate errs on the high side.
 *
 * @module
 */
import type { ChatMessage, ToolSpec } from "../providers/types.ts";
import { type Tool, toolJsonSchema } from "../tools/types.ts";

/** The parts of an agent the context needs. */
export interface AgentContextProfile {
  id: string;
  name?: string;
  systemPrompt?: string;
}

/** Rough token estimate of a text. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Rough token estimate of one message, including its tool calls and results. */
export function messageTokens(m: ChatMessage): number {
  const overhead = 4;
  if (m.role === "user") return overhead + estimateTokens(m.content);
  if (m.role === "assistant") {
    let n = overhead + estimateTokens(m.content);
    for (const c of m.toolCalls ?? []) n += 8 + estimateTokens(c.name + c.arguments);
    return n;
  }
  return m.results.reduce((n, r) => n + 8 + estimateTokens(r.content), overhead);
}

/**
 * The system prompt: a short base describing the setting, then the agent's own instructions,
 * then any extra sections (skills). Tools are announced through the provider's tool field,
 * not in prose, so they are not repeated here.
 */
export function buildSystemPrompt(
  agent: AgentContextProfile,
  extra: readonly string[] = [],
  now: Date = new Date(),
): string {
  const parts = [
    `You are ${agent.name ?? agent.id}, an assistant running in wirken, a self-hosted gateway. ` +
    `Today is ${now.toISOString().slice(0, 10)}. Use the tools offered when they help; a tool ` +
    `result marked as an error explains what went wrong, so correct the call or tell the user.`,
  ];
  if (agent.systemPrompt?.trim()) parts.push(agent.systemPrompt.trim());
  for (const e of extra) if (e.trim()) parts.push(e.trim());
  return parts.join("\n\n");
}

/** The tools as announced to the model. */
export function announceTools(tools: readonly Tool[]): ToolSpec[] {
  return tools.map((t) => ({
    name: t.name,
    description: t.description,
    parameters: toolJsonSchema(t),
  }));
}

/**
 * Keeps the newest messages that fit in `budget` tokens. The result always starts with a user
 * message (providers reject a history opening with tool results or an assistant turn, and a
 * tool result whose call was trimmed away is meaningless), and the last message is always kept
 * even if it alone exceeds the budget.
 */
export function trimHistory(messages: readonly ChatMessage[], budget: number): ChatMessage[] {
  if (messages.length === 0) return [];
  let used = 0;
  let start = messages.length;
  for (let i = messages.length - 1; i >= 0; i--) {
    const cost = messageTokens(messages[i]);
    if (i < messages.length - 1 && used + cost > budget) break;
    used += cost;
    start = i;
  }
  while (start < messages.length - 1 && messages[start].role !== "user") start++;
  return messages.slice(start);
}
