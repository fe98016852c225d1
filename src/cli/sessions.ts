/**
 * `wirken sessions list|show|clear`: stored conversations (`sessions.db`). None needs the
 * vault. Clearing removes the history the agent sees; the audit log keeps its own record.
 *
 * @module
 */
import type { ChatMessage } from "../providers/types.ts";
import type { SessionStore } from "../sessions/store.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

async function withStore<T>(
  ctx: CommandContext,
  fn: (store: SessionStore) => T | Promise<T>,
): Promise<T> {
  const [{ ensureDataDir }, { openSessionStore }] = await Promise.all([
    import("../config/paths.ts"),
    import("../sessions/store.ts"),
  ]);
  const paths = await ensureDataDir(ctx.dataDir);
  const store = openSessionStore(paths.sessionsDb);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

async function requireSession(store: SessionStore, id: string) {
  const info = store.get(id);
  if (!info) {
    const { WirkenError } = await import("../errors.ts");
    throw new WirkenError(`There is no session ${id}.`, {
      fix: "List them with `wirken sessions list`.",
    });
  }
  return info;
}

function line(m: ChatMessage): string[] {
  if (m.role === "user") return [`user: ${m.content}`];
  if (m.role === "assistant") {
    return [
      ...(m.content ? [`assistant: ${m.content}`] : []),
      ...(m.toolCalls ?? []).map((c) => `assistant -> ${c.name}(${c.arguments})`),
    ];
  }
  return m.results.map((r) =>
    `${r.name}${r.isError ? " (error)" : ""}: ${r.content.slice(0, 500)}`
  );
}

const SESSION_ARG = {
  name: "session",
  description: "Session id from `sessions list` (channel:conversation:agent).",
  required: true,
} as const;

/** The `sessions` command group. */
export const sessionsCommand: CommandSpec = {
  name: "sessions",
  summary: "List, show and clear conversation sessions.",
  examples: ["wirken sessions list", "wirken sessions show telegram:12345:default"],
  subcommands: [
    {
      name: "list",
      summary: "List sessions with channel, agent and last activity.",
      examples: ["wirken sessions list --json", "wirken sessions list --agent research"],
      options: {
        agent: { type: "string", description: "Only this agent's sessions.", valueName: "<id>" },
      },
      json: true,
      run: (ctx) =>
        withStore(ctx, async (store) => {
          const { print, printJson, table } = await import("./output.ts");
          const agent = typeof ctx.flags.agent === "string" ? ctx.flags.agent : undefined;
          const list = store.list({ agent });
          if (ctx.json) printJson(list);
          else if (list.length === 0) print("No sessions yet.");
          else {
            print(table(
              ["SESSION", "MESSAGES", "UPDATED"],
              list.map((s) => [s.id, String(s.messageCount), s.updatedAt]),
            ));
          }
          return 0;
        }),
    },
    {
      name: "show",
      summary: "Show one session's messages and tool calls.",
      examples: ["wirken sessions show telegram:12345:default --json"],
      args: [SESSION_ARG],
      json: true,
      run: (ctx) =>
        withStore(ctx, async (store) => {
          const { print, printJson } = await import("./output.ts");
          const id = String(ctx.args.session);
          const info = await requireSession(store, id);
          const messages = store.history(id);
          if (ctx.json) printJson({ ...info, messages });
          else {
            print(`${info.id} (${info.messageCount} messages, updated ${info.updatedAt})`);
            for (const m of messages) for (const l of line(m)) print(l);
          }
          return 0;
        }),
    },
    {
      name: "clear",
      summary: "Delete a session's history (the audit log keeps its record).",
      examples: ["wirken sessions clear telegram:12345:default"],
      args: [SESSION_ARG],
      run: (ctx) =>
        withStore(ctx, async (store) => {
          const { print } = await import("./output.ts");
          const id = String(ctx.args.session);
          await requireSession(store, id);
          store.clear(id);
          print(`Cleared ${id}. The next message starts a fresh conversation.`);
          return 0;
        }),
    },
  ],
};
