/**
 * One agent turn: assemble the context, stream the model's answer, run the tools it calls
 * (validated, audited, permitted), send the results back, and repeat until the model answers
 * or the round cap (at most 20) stops it with a clear message. The calls of one answer and of
 * one turn are capped too: the excess is refused with a result telling the model why, and
 * audited once per answer as `tool.limited`.
 *
 * Safety order for every tool call, none of which may be skipped:
 * 1. the tool must exist and its arguments must parse and match its zod schema (otherwise the
 *    model is told what was wrong and the loop continues);
 * 2. `tool.requested` is appended to the audit log; if that append fails the tool does NOT run
 *    (an action that cannot be recorded is not taken);
 * 3. the permission callback decides (`deny` is reported to the model);
 * 4. the tool runs; its outcome is audited as `tool.result` or `tool.error`.
 *
 * Every finished message is handed to `onMessage` as soon as it exists, so the session store
 * keeps a turn's tool calls and results even when a later round fails.
 *
 * @module
 */
import { z } from "zod";
import type { AuditSink } from "../audit/types.ts";
import type {
  ChatMessage,
  ChatRequest,
  Provider,
  ToolCall,
  ToolResultPart,
} from "../providers/types.ts";
import type { Tier, Tool, ToolContext } from "../tools/types.ts";
import {
  type AgentContextProfile,
  announceTools,
  buildSystemPrompt,
  estimateTokens,
  trimHistory,
} from "./context.ts";
import { closeUnansweredCalls } from "./recover.ts";

/** The hard ceiling of tool rounds in one turn, whatever the configuration says. */
export const MAX_TOOL_ROUNDS = 20;

/** Tool calls run from one model answer unless configured otherwise. */
export const DEFAULT_TOOL_CALLS_PER_ROUND = 16;

/** Tool calls run in one turn (all rounds together) unless configured otherwise. */
export const DEFAULT_TOOL_CALLS_PER_TURN = 64;

/** Largest tool output sent to the model; the rest is cut with a note. */
export const MAX_TOOL_OUTPUT = 64 * 1024;

/** What the permission callback is asked. */
export interface PermissionRequest {
  callId: string;
  tool: string;
  tier: Tier;
  /** The validated input. */
  input: unknown;
  agent: string;
  session: string;
  channel: string;
  sender: string;
}

/** The permissions room's answer: run the call or not. */
export type PermissionCheck = (request: PermissionRequest) => Promise<"allow" | "deny">;

/** The agent as the loop sees it. */
export interface AgentProfile extends AgentContextProfile {
  model: string;
  /** The model's context window in tokens (default 32k, a safe floor for current models). */
  contextTokens?: number;
  /** Upper bound of one answer in tokens (default 4096). */
  maxTokens?: number;
  workspace?: string;
}

/** Where the turn happens. */
export interface TurnSession {
  id: string;
  channel: string;
  sender: string;
}

/** Progress of a turn, for streaming to the user. */
export type TurnEvent =
  | { type: "text"; text: string }
  | { type: "tool_call"; call: ToolCall }
  | { type: "tool_result"; result: ToolResultPart }
  | { type: "round_limit"; rounds: number };

/** Everything one turn needs; concrete services are passed in (tests pass fakes). */
export interface TurnOptions {
  provider: Provider;
  agent: AgentProfile;
  tools: readonly Tool[];
  /** Earlier messages of the session, oldest first. */
  history: readonly ChatMessage[];
  /** The user's new message. */
  message: string;
  audit: AuditSink;
  permit: PermissionCheck;
  session: TurnSession;
  /** Rounds allowed (clamped to 1..{@linkcode MAX_TOOL_ROUNDS}; default the maximum). */
  maxToolRounds?: number;
  /**
   * Calls run from one model answer (default {@linkcode DEFAULT_TOOL_CALLS_PER_ROUND}); the
   * rest of that answer's calls are refused with a result saying why.
   */
  maxToolCallsPerRound?: number;
  /** Calls run in the whole turn (default {@linkcode DEFAULT_TOOL_CALLS_PER_TURN}). */
  maxToolCallsPerTurn?: number;
  /** Extra system-prompt sections (e.g. the skills summary). */
  systemExtra?: readonly string[];
  signal?: AbortSignal;
  onEvent?: (event: TurnEvent) => void;
  /** Called with each finished message (the user message first). */
  onMessage?: (message: ChatMessage) => void | Promise<void>;
}

/** The outcome of a turn. */
export interface TurnResult {
  /** The text shown to the user (all rounds' text, plus the round-limit notice if any). */
  text: string;
  /** Messages this turn added, in order, starting with the user message. */
  messages: ChatMessage[];
  /** Tool rounds that ran. */
  rounds: number;
  stoppedBy: "answer" | "round_limit";
  usage: { inputTokens: number; outputTokens: number };
}

/** The notice shown when the round cap stops a turn. */
export function roundLimitNotice(rounds: number): string {
  return `I stopped after ${rounds} rounds of tool calls without reaching an answer. ` +
    `Tell me to continue, or narrow the request.`;
}

function clip(text: string): string {
  if (text.length <= MAX_TOOL_OUTPUT) return text;
  return text.slice(0, MAX_TOOL_OUTPUT) +
    `\n[output cut: ${text.length - MAX_TOOL_OUTPUT} more characters not shown]`;
}

/** Runs one turn. Provider errors propagate (as `ProviderError`) after `onMessage` saw what was done. */
export async function runTurn(o: TurnOptions): Promise<TurnResult> {
  const cap = Math.max(1, Math.min(MAX_TOOL_ROUNDS, o.maxToolRounds ?? MAX_TOOL_ROUNDS));
  const system = buildSystemPrompt(o.agent, o.systemExtra);
  const specs = announceTools(o.tools);
  const maxTokens = o.agent.maxTokens ?? 4096;
  const budget = Math.max(
    1024,
    (o.agent.contextTokens ?? 32_000) - maxTokens - estimateTokens(system) -
      estimateTokens(JSON.stringify(specs)),
  );
  const byName = new Map(o.tools.map((t) => [t.name, t]));
  const signal = o.signal ?? new AbortController().signal;

  const added: ChatMessage[] = [];
  const push = async (m: ChatMessage) => {
    added.push(m);
    await o.onMessage?.(m);
  };
  await push({ role: "user", content: o.message });

  let text = "";
  let rounds = 0;
  const perRound = Math.max(1, o.maxToolCallsPerRound ?? DEFAULT_TOOL_CALLS_PER_ROUND);
  const perTurn = Math.max(1, o.maxToolCallsPerTurn ?? DEFAULT_TOOL_CALLS_PER_TURN);
  let callsRun = 0;
  const usage = { inputTokens: 0, outputTokens: 0 };

  while (true) {
    const request: ChatRequest = {
      model: o.agent.model,
      system,
      messages: trimHistory(closeUnansweredCalls([...o.history, ...added]), budget),
      tools: specs.length ? specs : undefined,
      maxTokens,
      contextTokens: o.agent.contextTokens,
    };
    let answer = "";
    const calls: ToolCall[] = [];
    for await (const ev of o.provider.chat(request, signal)) {
      if (ev.type === "text") {
        answer += ev.text;
        o.onEvent?.({ type: "text", text: ev.text });
      } else if (ev.type === "tool_call") {
        calls.push(ev.call);
      } else if (ev.type === "usage") {
        usage.inputTokens += ev.inputTokens;
        usage.outputTokens += ev.outputTokens;
      }
    }
    text += answer;

    if (calls.length === 0) {
      await push({ role: "assistant", content: answer });
      return { text, messages: added, rounds, stoppedBy: "answer", usage };
    }
    if (rounds >= cap) {
      // The calls are dropped, not stored unanswered: providers reject a history with a call
      // that has no result.
      const notice = roundLimitNotice(rounds);
      const sep = answer ? "\n\n" : "";
      await push({ role: "assistant", content: answer + sep + notice });
      o.onEvent?.({ type: "round_limit", rounds });
      text += (text ? "\n\n" : "") + notice;
      return { text, messages: added, rounds, stoppedBy: "round_limit", usage };
    }

    await push({ role: "assistant", content: answer, toolCalls: calls });
    const results: ToolResultPart[] = [];
    const refused: ToolCall[] = [];
    let limit: "round" | "turn" | undefined;
    for (const [i, call] of calls.entries()) {
      o.onEvent?.({ type: "tool_call", call });
      let result: ToolResultPart;
      if (i >= perRound || callsRun >= perTurn) {
        // Every call still gets a result (providers reject a call without one), but a model
        // answering with hundreds of calls cannot make hundreds of things happen.
        limit ??= i >= perRound ? "round" : "turn";
        refused.push(call);
        result = {
          callId: call.id,
          name: call.name,
          content: i >= perRound
            ? `Not run: at most ${perRound} tool calls are run from one answer, and this was ` +
              `call ${i + 1} of ${calls.length}. Wait for these results, then call again ` +
              `only if still needed.`
            : `Not run: this turn already ran its limit of ${perTurn} tool calls. Answer ` +
              `with what you have, and tell the user to ask again to continue.`,
          isError: true,
        };
      } else {
        callsRun++;
        result = await runCall(call, byName, o, signal);
      }
      results.push(result);
      o.onEvent?.({ type: "tool_result", result });
    }
    if (refused.length > 0) {
      // One event per answer, not per refused call: a flood of calls must not become a flood
      // of durable audit writes.
      await o.audit.append({
        session: o.session.id,
        agent: o.agent.id,
        channel: o.session.channel,
        actor: o.session.sender,
        kind: "tool.limited",
        payload: {
          limit,
          perRound,
          perTurn,
          calls: calls.length,
          refused: refused.length,
          tools: [...new Set(refused.map((c) => c.name))].slice(0, 20),
        },
      }).catch(() => {});
    }
    await push({ role: "tool", results });
    rounds++;
  }
}

async function runCall(
  call: ToolCall,
  byName: Map<string, Tool>,
  o: TurnOptions,
  signal: AbortSignal,
): Promise<ToolResultPart> {
  const fail = (content: string): ToolResultPart => ({
    callId: call.id,
    name: call.name,
    content,
    isError: true,
  });
  const tool = byName.get(call.name);
  if (!tool) {
    const names = [...byName.keys()].join(", ") || "none";
    return fail(`Unknown tool "${call.name}". Available tools: ${names}.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(call.arguments || "{}");
  } catch {
    return fail(`The arguments for ${tool.name} were not valid JSON. Send a JSON object.`);
  }
  const parsed = tool.inputSchema.safeParse(raw);
  if (!parsed.success) {
    return fail(
      `The arguments for ${tool.name} do not match its schema:\n${z.prettifyError(parsed.error)}`,
    );
  }
  const input = parsed.data;
  const base = {
    session: o.session.id,
    agent: o.agent.id,
    channel: o.session.channel,
    actor: o.session.sender,
  };
  try {
    await o.audit.append({
      ...base,
      kind: "tool.requested",
      payload: { tool: tool.name, callId: call.id, tier: tool.tier, input },
    });
  } catch {
    return fail(
      `${tool.name} was not run: the audit log could not record the request. ` +
        `Tell the user that tools are unavailable until the audit log works again.`,
    );
  }
  const decision = await o.permit({
    callId: call.id,
    tool: tool.name,
    tier: tool.tier,
    input,
    agent: o.agent.id,
    session: o.session.id,
    channel: o.session.channel,
    sender: o.session.sender,
  }).catch(() => "deny" as const);
  if (decision !== "allow") {
    await o.audit.append({
      ...base,
      kind: "tool.denied",
      payload: { tool: tool.name, callId: call.id },
    }).catch(() => {});
    return fail(`The user did not allow ${tool.name} to run this time.`);
  }
  const ctx: ToolContext = {
    agentId: o.agent.id,
    sessionId: o.session.id,
    channel: o.session.channel,
    sender: o.session.sender,
    workspace: o.agent.workspace,
    signal,
  };
  let result: ToolResultPart;
  try {
    const r = await tool.run(input, ctx);
    result = { callId: call.id, name: tool.name, content: clip(r.content), isError: r.isError };
    if (!r.isError) delete result.isError;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    result = fail(`${tool.name} failed: ${clip(why)}`);
  }
  // The request is already durable; a failure to record the outcome must not hide the result.
  await o.audit.append({
    ...base,
    kind: result.isError ? "tool.error" : "tool.result",
    payload: { tool: tool.name, callId: call.id, bytes: result.content.length },
  }).catch(() => {});
  return result;
}
