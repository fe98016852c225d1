/**
 * A scripted {@linkcode ChatService} for WebChat tests: streams text slowly, emits tool calls
 * and approvals, fails on request, honours abort, and records everything the page asked for.
 *
 * What a message does depends on its text:
 * - `slow ...`: a long answer, one word every 80 ms, until aborted.
 * - `tool ...`: a tier-2 `exec` call that waits for an approval, then reports the outcome.
 * - `danger ...`: the same with a tier-3 tool (no "remember" allowed).
 * - `xss`: hostile Markdown/HTML the page must render inert.
 * - `fail`: the service throws mid-turn.
 * - anything else: a short streamed Markdown answer with a code block.
 *
 * @module
 */
import type {
  AgentInfo,
  ApprovalDecision,
  AuditView,
  ChatEvent,
  ChatInput,
  ChatService,
  CredentialRow,
  PendingApproval,
  PermissionRow,
  SessionSummary,
  StatusView,
  TranscriptEntry,
} from "../../src/webchat/service.ts";

/** Model output that tries every HTML/JS injection the page must neutralise. */
export const HOSTILE_OUTPUT = [
  'Here: <img src=x onerror="window.__pwned=1">',
  "<script>window.__pwned=2</script>",
  "[click me](javascript:window.__pwned=3)",
  '<a href="javascript:window.__pwned=4">html link</a>',
  '<svg onload="window.__pwned=5"></svg>',
  "![img](javascript:window.__pwned=6)",
  "```html",
  '<img src=x onerror="window.__pwned=7">',
  "```",
].join("\n\n");

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/** What the fake saw. */
export interface FakeRecord {
  sends: ChatInput[];
  aborted: string[];
  decisions: { id: string; decision: ApprovalDecision }[];
  uploads: { agent: string; name: string; bytes: Uint8Array }[];
  revoked: { tool: string; agent: string }[];
}

/** The fake plus its controls. */
export interface FakeChatService extends ChatService {
  record: FakeRecord;
  /** Adds an approval as if another channel (say Telegram) were waiting on it. */
  addExternalApproval(approval: Partial<PendingApproval> & { id: string }): void;
  /** Text deltas the `slow` turns have produced so far (to stop mid-stream). */
  words: number;
}

/** Builds a fresh fake. */
export function fakeChatService(options: { wordDelayMs?: number } = {}): FakeChatService {
  const delay = options.wordDelayMs ?? 15;
  const record: FakeRecord = { sends: [], aborted: [], decisions: [], uploads: [], revoked: [] };
  const pending = new Map<string, PendingApproval>();
  const waiters = new Map<string, (d: ApprovalDecision) => void>();
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());
  const sessions: SessionSummary[] = [
    {
      id: "s-old",
      agent: "default",
      channel: "webchat",
      title: 'Earlier chat <img src=x onerror="window.__pwned=8">',
      updatedAt: "2026-11-20T10:00:00Z",
    },
    {
      id: "s-tg",
      agent: "default",
      channel: "telegram",
      title: "From Telegram",
      updatedAt: "2026-11-21T10:00:00Z",
    },
  ];
  const transcripts = new Map<string, TranscriptEntry[]>([
    ["s-old", [
      { role: "user", text: "What is 2+2?" },
      { role: "assistant", text: "It is **4**. <b>not bold</b>" },
    ]],
    ["s-tg", [{ role: "user", text: "hi from telegram" }, { role: "assistant", text: "hello" }]],
  ]);
  let permissions: PermissionRow[] = [
    { tool: "exec", agent: "default", expiresAt: "2026-12-20T10:00:00Z" },
    { tool: "web_fetch", agent: "default", expiresAt: "2026-12-01T10:00:00Z" },
  ];
  let nextSession = 1;
  let nextApproval = 1;

  async function* stream(text: string, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    for (const word of text.split(/(?<= )/)) {
      if (signal.aborted) return;
      await sleep(delay, signal);
      if (signal.aborted) return;
      yield { type: "text", text: word };
    }
  }

  async function* approvalTurn(
    tier: 2 | 3,
    sessionId: string,
    signal: AbortSignal,
  ): AsyncGenerator<ChatEvent> {
    const id = `ap-${nextApproval++}`;
    const tool = tier === 2 ? "exec" : "exec_unsandboxed";
    const args = { command: "ls -la /workspace", note: "<b>not markup</b>" };
    yield { type: "tool_call", id: `call-${id}`, tool, args } satisfies ChatEvent;
    const approval: PendingApproval = {
      id,
      tool,
      tier,
      args,
      sandbox: tier === 2 ? "bwrap" : "none",
      agent: "default",
      channel: "webchat",
      session: sessionId,
      requestedAt: new Date().toISOString(),
    };
    pending.set(id, approval);
    changed();
    yield { type: "approval", approval } satisfies ChatEvent;
    const decision = await new Promise<ApprovalDecision | "aborted">((resolve) => {
      waiters.set(id, resolve);
      signal.addEventListener("abort", () => resolve("aborted"), { once: true });
    });
    waiters.delete(id);
    if (pending.delete(id)) changed();
    if (decision === "aborted") return;
    if (decision === "deny") {
      yield { type: "tool_result", id: `call-${id}`, ok: false, summary: "denied by the user" };
      yield* stream("The command was denied, so I did not run it.", signal);
    } else {
      yield { type: "tool_result", id: `call-${id}`, ok: true, summary: "3 files" };
      yield* stream(`Approved (${decision}). The workspace has 3 files.`, signal);
    }
  }

  const service: FakeChatService = {
    record,
    words: 0,
    agents(): AgentInfo[] {
      return [
        { id: "default", name: "Default", model: "fake/model-1" },
        { id: "research", name: "Research", model: "fake/model-2" },
      ];
    },
    sessions(agent) {
      return sessions.filter((s) => !agent || s.agent === agent);
    },
    transcript(sessionId) {
      return transcripts.get(sessionId) ?? [];
    },
    async *send(input, signal) {
      record.sends.push(input);
      signal.addEventListener("abort", () => record.aborted.push(input.text), { once: true });
      const sessionId = input.sessionId ?? `s-new-${nextSession++}`;
      if (!input.sessionId) {
        sessions.unshift({
          id: sessionId,
          agent: input.agent,
          channel: "webchat",
          title: input.text.slice(0, 40),
          updatedAt: new Date().toISOString(),
        });
      }
      yield { type: "session", sessionId };
      const word = input.text.split(/\s/)[0];
      if (word === "slow") {
        for (let i = 0; i < 400 && !signal.aborted; i++) {
          await sleep(80, signal);
          if (signal.aborted) break;
          service.words++;
          yield { type: "text", text: `word${i} ` };
        }
      } else if (word === "tool") {
        yield* approvalTurn(2, sessionId, signal);
      } else if (word === "danger") {
        yield* approvalTurn(3, sessionId, signal);
      } else if (word === "xss") {
        yield* stream(HOSTILE_OUTPUT, signal);
      } else if (word === "fail") {
        yield { type: "text", text: "Starting… " };
        throw new Error("provider exploded <img src=x onerror=window.__pwned=9>");
      } else {
        yield { type: "notice", text: "Using the fake provider." };
        yield* stream(
          `Hello! You said: *${input.text}*.\n\nHere is code:\n\n\`\`\`ts\nconst answer = 42;\n\`\`\`\n`,
          signal,
        );
      }
      if (!signal.aborted) yield { type: "done" };
    },
    upload(agent, name, bytes) {
      record.uploads.push({ agent, name, bytes });
      return Promise.resolve(`uploads/${name}`);
    },
    pendingApprovals() {
      return [...pending.values()];
    },
    decide(approvalId, decision) {
      record.decisions.push({ id: approvalId, decision });
      const waiter = waiters.get(approvalId);
      if (waiter) waiter(decision);
      else if (pending.delete(approvalId)) changed();
      return Promise.resolve();
    },
    onApprovalsChanged(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addExternalApproval(a) {
      pending.set(a.id, {
        tool: "web_fetch",
        tier: 2,
        args: { url: "https://example.com" },
        sandbox: "none",
        agent: "default",
        channel: "telegram",
        session: "s-tg",
        requestedAt: new Date().toISOString(),
        ...a,
      });
      changed();
    },
    status(): StatusView {
      return {
        adapters: [
          {
            channel: "telegram",
            pid: 4242,
            state: "running",
            uptimeSeconds: 360,
            restarts: 0,
            lastError: null,
          },
          {
            channel: "discord",
            pid: null,
            state: "backoff",
            uptimeSeconds: 0,
            restarts: 3,
            lastError: "401 from <b>discord</b>",
          },
        ],
      };
    },
    audit(limit): Promise<AuditView> {
      const events = [
        {
          seq: 1,
          time: "2026-11-25T04:00:00Z",
          kind: "message",
          actor: "user",
          channel: "webchat",
          summary: "hello",
        },
        {
          seq: 2,
          time: "2026-11-25T04:00:01Z",
          kind: "tool",
          actor: "agent:default",
          summary: 'exec <img src=x onerror="window.__pwned=10">',
        },
      ].slice(0, limit);
      return Promise.resolve({ events, verified: { ok: true, detail: "2 events, chain intact" } });
    },
    permissions() {
      return permissions;
    },
    revokePermission(tool, agent) {
      record.revoked.push({ tool, agent });
      permissions = permissions.filter((p) => !(p.tool === tool && p.agent === agent));
      return Promise.resolve();
    },
    credentials(): CredentialRow[] {
      return [
        { name: "openai_api_key", expiresAt: null, updatedAt: "2026-11-01T00:00:00Z" },
        {
          name: "telegram_bot_token",
          expiresAt: "2026-11-30T00:00:00Z",
          updatedAt: "2026-11-01T00:00:00Z",
        },
      ];
    },
  };
  return service;
}
