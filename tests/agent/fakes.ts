/**
 * Fakes for agent tests: a scripted in-memory provider, an audit sink that records (and can be
 * told to fail), and two small tools.
 *
 * @module
 */
import { z } from "zod";
import type { AuditEventInput, AuditSink } from "../../src/audit/types.ts";
import type {
  ChatEvent,
  ChatRequest,
  HealthStatus,
  Provider,
  ToolCall,
} from "../../src/providers/types.ts";
import { defineTool, type Tool } from "../../src/tools/types.ts";

/** A provider answering from a script; each answer is a list of events. */
export class ScriptedProvider implements Provider {
  readonly kind = "custom" as const;
  readonly baseUrl = "http://127.0.0.1:1";
  readonly requests: ChatRequest[] = [];
  constructor(
    private readonly script: ChatEvent[][],
    private readonly fallback?: (n: number) => ChatEvent[],
  ) {}
  async *chat(request: ChatRequest): AsyncGenerator<ChatEvent> {
    // Deep copy: the loop reuses arrays between rounds.
    this.requests.push(structuredClone(request));
    const n = this.requests.length - 1;
    const answer = this.script[n] ?? this.fallback?.(n);
    if (!answer) throw new Error(`no scripted answer #${n}`);
    for (const e of answer) {
      await Promise.resolve();
      yield e;
    }
  }
  models(): Promise<string[]> {
    return Promise.resolve(["fake"]);
  }
  health(): Promise<HealthStatus> {
    return Promise.resolve({ ok: true, message: "fake", latencyMs: 0 });
  }
}

/** Events of an answer: text, then calls, then done. */
export function answer(text: string, ...calls: ToolCall[]): ChatEvent[] {
  const ev: ChatEvent[] = [];
  if (text) ev.push({ type: "text", text });
  for (const c of calls) ev.push({ type: "tool_call", call: c });
  ev.push({ type: "usage", inputTokens: 10, outputTokens: 5 });
  ev.push({ type: "done", stopReason: calls.length ? "tool_calls" : "stop" });
  return ev;
}

/** A tool call. */
export function call(id: string, name: string, args: unknown): ToolCall {
  return { id, name, arguments: typeof args === "string" ? args : JSON.stringify(args) };
}

/** An audit sink recording events into `log` (shared with tools to check ordering). */
export class RecordingAudit implements AuditSink {
  events: AuditEventInput[] = [];
  failNext = 0;
  constructor(readonly log: string[] = []) {}
  append(event: AuditEventInput): Promise<number> {
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error("disk full"));
    }
    this.events.push(event);
    this.log.push(`audit:${event.kind}:${String(event.payload?.tool)}`);
    return Promise.resolve(this.events.length);
  }
}

/** The two tools, logging their runs into `log`. */
export function makeTools(log: string[]): Tool[] {
  return [
    defineTool({
      name: "get_weather",
      description: "Weather of a city.",
      tier: 1,
      inputSchema: z.object({ city: z.string().min(1).describe("City name") }),
      run: (input) => {
        log.push(`run:get_weather:${input.city}`);
        return Promise.resolve({ content: `${input.city}: 18°C` });
      },
    }),
    defineTool({
      name: "write_note",
      description: "Writes a note.",
      tier: 2,
      inputSchema: z.object({ text: z.string(), pinned: z.boolean().default(false) }),
      run: (input) => {
        log.push(`run:write_note:${input.text}`);
        if (input.text === "boom") throw new Error("disk on fire");
        return Promise.resolve({ content: "saved" });
      },
    }),
  ];
}
