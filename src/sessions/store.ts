/**
 * Conversation history in SQLite (`<data dir>/sessions.db`): one session per
 * agent + conversation handle, its messages, tool calls and tool results, in order.
 *
 * A session is found only through a {@linkcode SessionHandle} (minted from an authenticated
 * adapter connection, or by the gateway for its own sources), never from loose strings. Its id
 * is the handle's key plus the agent, `<channel>:<conversation, URI-encoded>:<agent>`, so two
 * channels that happen to use the same conversation id (Telegram chat `42`, Discord channel
 * `42`) never share a session, and a conversation id containing `:` cannot pose as another
 * channel's or agent's. The (agent, channel, conversation) triple is also UNIQUE in the table.
 *
 * Databases written before ids came from the handle's key used the raw conversation id; such
 * rows are re-keyed when the store opens (see {@linkcode rekeyLegacySessions}), their messages
 * moved with them.
 *
 * @module
 */
import { z } from "zod";
import { StoreError } from "../errors.ts";
import type { ChatMessage } from "../providers/types.ts";
import { type Database, type Migration, openDatabase, writeTransaction } from "../store/sqlite.ts";
import { isSource, openSession, type SessionHandle } from "../ipc/session.ts";

/** A session's metadata. */
export interface SessionInfo {
  id: string;
  agent: string;
  channel: string;
  /** The platform's conversation id, as the handle had it (not encoded). */
  conversation: string;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
}

/** The schema, forward-only. */
export const SESSION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "sessions and messages",
    up: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        channel TEXT NOT NULL,
        conversation TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (agent, channel, conversation)
      ) STRICT;
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
        content TEXT NOT NULL,
        tool_calls TEXT,
        tool_results TEXT,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX messages_by_session ON messages (session_id, seq);
    `,
  },
  {
    version: 2,
    // Rate-limit buckets live here because every entry point (gateway, `wirken ask`) already
    // opens this file; see src/ratelimit/sqlite_state.ts.
    name: "rate limit buckets",
    up: `
      CREATE TABLE rate_buckets (
        key TEXT PRIMARY KEY,
        tokens REAL NOT NULL,
        updated_ms INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    // The audit log keeps naming a re-keyed session by its old id; crash recovery reads it there.
    name: "ids of re-keyed sessions",
    up: `
      CREATE TABLE session_aliases (
        old_id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE
      ) STRICT;
      CREATE INDEX session_aliases_by_session ON session_aliases (session_id);
    `,
  },
];

// Rows are read back through zod: the file is on disk and could have been edited or damaged.
const ToolCalls = z.array(z.object({
  id: z.string(),
  name: z.string(),
  arguments: z.string(),
  signature: z.string().optional(),
}));
const ToolResults = z.array(z.object({
  callId: z.string(),
  name: z.string(),
  content: z.string(),
  isError: z.boolean().optional(),
}));
const Row = z.object({
  role: z.enum(["user", "assistant", "tool"]),
  content: z.string(),
  tool_calls: z.string().nullable(),
  tool_results: z.string().nullable(),
});
const InfoRow = z.object({
  id: z.string(),
  agent: z.string(),
  channel: z.string(),
  conversation: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  n: z.number(),
});

/** The id of `agent`'s session in the conversation of `handle`: its key, then the agent. */
export function sessionId(handle: SessionHandle, agent: string): string {
  return `${handle.key}:${agent}`;
}

/**
 * Re-keys rows whose id is not the one their handle gives (stores written when the id used the
 * raw conversation id): each such session gets its new id and keeps its messages, and its old id
 * is kept as an alias ({@linkcode SessionStore.formerIds}) for records that still name it. Pending
 * approvals are not re-keyed: they are in `permissions.db`, and the gateway expires them at start
 * anyway (their waiting turn died with the process; see src/gateway/interrupted.ts). Runs in one
 * transaction; a row whose channel is unknown is left alone (nothing can address it anyway).
 * Returns how many sessions were re-keyed.
 */
export function rekeyLegacySessions(db: Database): number {
  const rows = z.array(z.object({
    id: z.string(),
    agent: z.string(),
    channel: z.string(),
    conversation: z.string(),
  })).parse(db.prepare("SELECT id, agent, channel, conversation FROM sessions").all());
  const stale = rows.flatMap((r) => {
    if (!isSource(r.channel) || !r.conversation || !r.agent) return [];
    const id = sessionId(openSession(r.channel, r.conversation), r.agent);
    return id === r.id ? [] : [{ ...r, newId: id }];
  });
  if (stale.length === 0) return 0;
  writeTransaction(db, () => {
    for (const r of stale) {
      // The triple is UNIQUE, so the new row cannot be inserted beside the old one: the old one
      // is renamed out of the triple's way first, then the messages move, then it goes.
      db.prepare("UPDATE sessions SET conversation = conversation || char(0) WHERE id = ?").run(
        r.id,
      );
      db.prepare(
        `INSERT INTO sessions (id, agent, channel, conversation, created_at, updated_at)
         SELECT ?, agent, channel, ?, created_at, updated_at FROM sessions WHERE id = ?`,
      ).run(r.newId, r.conversation, r.id);
      db.prepare("UPDATE messages SET session_id = ? WHERE session_id = ?").run(r.newId, r.id);
      db.prepare("INSERT OR REPLACE INTO session_aliases (old_id, session_id) VALUES (?, ?)").run(
        r.id,
        r.newId,
      );
      db.prepare("DELETE FROM sessions WHERE id = ?").run(r.id);
    }
  });
  return stale.length;
}

function toInfo(row: unknown): SessionInfo {
  const r = InfoRow.parse(row);
  return {
    id: r.id,
    agent: r.agent,
    channel: r.channel,
    conversation: r.conversation,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    messageCount: r.n,
  };
}

function toMessage(row: unknown): ChatMessage {
  const r = Row.parse(row);
  if (r.role === "user") return { role: "user", content: r.content };
  if (r.role === "assistant") {
    const calls = r.tool_calls ? ToolCalls.parse(JSON.parse(r.tool_calls)) : [];
    return calls.length
      ? { role: "assistant", content: r.content, toolCalls: calls }
      : { role: "assistant", content: r.content };
  }
  return { role: "tool", results: ToolResults.parse(JSON.parse(r.tool_results ?? "[]")) };
}

const INFO_SELECT = `SELECT s.id, s.agent, s.channel, s.conversation, s.created_at, s.updated_at,
  (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id) AS n FROM sessions s`;

/** The session store. */
export class SessionStore {
  readonly #db: Database;

  /** Wraps an open database (see {@linkcode openSessionStore}); re-keys legacy rows. */
  constructor(db: Database) {
    this.#db = db;
    rekeyLegacySessions(db);
  }

  /** `agent`'s session in the conversation of `handle`, created on first use. */
  getOrCreate(handle: SessionHandle, agent: string): SessionInfo {
    if (agent.length === 0 || agent.includes(":")) {
      throw new StoreError(`A session needs an agent id without ':' (got "${agent}").`, {
        fix: "This is a bug in the caller; please report it.",
      });
    }
    const id = sessionId(handle, agent);
    const now = new Date().toISOString();
    this.#db.prepare(
      `INSERT INTO sessions (id, agent, channel, conversation, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ).run(id, agent, handle.channel, handle.conversationId, now, now);
    const row = this.#db.prepare(`${INFO_SELECT} WHERE s.id = ?`).get(id);
    if (!row) {
      // Only a row with the same triple and another id can be in the way: not re-keyed (its
      // channel is unknown) or edited by hand.
      throw new StoreError(`The session ${id} clashes with another row of sessions.db.`, {
        fix: "Run `wirken sessions list`, clear the conflicting session, and try again.",
      });
    }
    return toInfo(row);
  }

  /** One session by id. */
  get(id: string): SessionInfo | undefined {
    const row = this.#db.prepare(`${INFO_SELECT} WHERE s.id = ?`).get(id);
    return row ? toInfo(row) : undefined;
  }

  /** The ids `id` had before re-keying ({@linkcode rekeyLegacySessions}), oldest first. */
  formerIds(id: string): string[] {
    return z.array(z.object({ old_id: z.string() })).parse(
      this.#db.prepare("SELECT old_id FROM session_aliases WHERE session_id = ? ORDER BY rowid")
        .all(id),
    ).map((r) => r.old_id);
  }

  /** Appends a message; durable when this returns. */
  append(id: string, message: ChatMessage): void {
    const now = new Date().toISOString();
    const content = message.role === "tool" ? "" : message.content;
    const calls = message.role === "assistant" && message.toolCalls?.length
      ? JSON.stringify(message.toolCalls)
      : null;
    const results = message.role === "tool" ? JSON.stringify(message.results) : null;
    writeTransaction(this.#db, () => {
      const updated = this.#db.prepare("UPDATE sessions SET updated_at = ? WHERE id = ?").run(
        now,
        id,
      );
      if (Number(updated.changes) !== 1) {
        throw new StoreError(`No session ${id}.`, { fix: "List sessions: wirken sessions list" });
      }
      this.#db.prepare(
        `INSERT INTO messages (session_id, role, content, tool_calls, tool_results, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(id, message.role, content, calls, results, now);
    });
  }

  /** The newest `limit` messages of a session, oldest first. */
  history(id: string, limit = 500): ChatMessage[] {
    const rows = this.#db.prepare(
      `SELECT role, content, tool_calls, tool_results FROM messages WHERE session_id = ?
       ORDER BY seq DESC LIMIT ?`,
    ).all(id, limit);
    return rows.reverse().map(toMessage);
  }

  /** Sessions, most recently active first. */
  list(filter: { agent?: string } = {}): SessionInfo[] {
    const rows = filter.agent
      ? this.#db.prepare(`${INFO_SELECT} WHERE s.agent = ? ORDER BY s.updated_at DESC`).all(
        filter.agent,
      )
      : this.#db.prepare(`${INFO_SELECT} ORDER BY s.updated_at DESC`).all();
    return rows.map(toInfo);
  }

  /** Deletes a session and its messages; true when it existed. */
  clear(id: string): boolean {
    return Number(this.#db.prepare("DELETE FROM sessions WHERE id = ?").run(id).changes) > 0;
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }
}

/** Opens (creating and migrating) the session store at `path`. */
export function openSessionStore(path: string): SessionStore {
  return new SessionStore(openDatabase(path, { migrations: SESSION_MIGRATIONS }));
}
