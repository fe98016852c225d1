/**
 * `permissions.db`: remembered tier-2 approvals and pending approval requests.
 *
 * Pending requests live in SQLite rather than in memory because `wirken permissions
 * approve` runs in another process than the gateway: the terminal writes the decision, the
 * gateway's broker sees it on its next poll. Remembered approvals are read from the database on
 * every check (no cache), so `wirken permissions revoke` takes effect immediately.
 *
 * A remembered approval is keyed by agent, tool, scope, channel and the user it was given
 * for; it records who approved. One user's approval never covers another user's request.
 *
 * @module
 */
import { z } from "zod";
import { type Database, type Migration, openDatabase } from "../store/sqlite.ts";
import type { Tier } from "../tools/types.ts";

/** The schema, forward-only. */
export const PERMISSION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "remembered approvals and pending requests",
    up: `
      CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        agent TEXT NOT NULL,
        tool TEXT NOT NULL,
        scope TEXT NOT NULL,
        channel TEXT NOT NULL,
        sender TEXT NOT NULL,
        approved_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        UNIQUE (agent, tool, scope, channel, sender)
      ) STRICT;
      CREATE TABLE pending (
        code TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        tool TEXT NOT NULL,
        tier INTEGER NOT NULL CHECK (tier IN (1, 2, 3)),
        scope TEXT NOT NULL,
        channel TEXT NOT NULL,
        session TEXT NOT NULL,
        sender TEXT NOT NULL,
        summary TEXT NOT NULL,
        sandbox TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
        remember INTEGER NOT NULL DEFAULT 0,
        decided_by TEXT,
        decided_via TEXT,
        decided_at INTEGER
      ) STRICT;
      CREATE INDEX pending_by_status ON pending (status, expires_at);
    `,
  },
];

/** A remembered approval. */
export interface RememberedApproval {
  id: number;
  agent: string;
  tool: string;
  scope: string;
  channel: string;
  /** The user whose requests it covers. */
  sender: string;
  approvedBy: string;
  createdAt: number;
  expiresAt: number;
}

/** A request waiting for (or past) a decision. */
export interface PendingApproval {
  code: string;
  callId: string;
  agent: string;
  tool: string;
  tier: Tier;
  scope: string;
  channel: string;
  session: string;
  sender: string;
  summary: string;
  /** Where the call would run (`bwrap`, `docker`, `host`, ...); `host` is flagged in prompts. */
  sandbox: string;
  createdAt: number;
  expiresAt: number;
  status: "pending" | "approved" | "denied" | "expired";
  remember: boolean;
  decidedBy: string | null;
  decidedVia: string | null;
}

// Rows are read back through zod: the file is on disk and could have been edited or damaged.
const ApprovalRow = z.object({
  id: z.number(),
  agent: z.string(),
  tool: z.string(),
  scope: z.string(),
  channel: z.string(),
  sender: z.string(),
  approved_by: z.string(),
  created_at: z.number(),
  expires_at: z.number(),
});
const PendingRow = z.object({
  code: z.string(),
  call_id: z.string(),
  agent: z.string(),
  tool: z.string(),
  tier: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  scope: z.string(),
  channel: z.string(),
  session: z.string(),
  sender: z.string(),
  summary: z.string(),
  sandbox: z.string(),
  created_at: z.number(),
  expires_at: z.number(),
  status: z.enum(["pending", "approved", "denied", "expired"]),
  remember: z.number(),
  decided_by: z.string().nullable(),
  decided_via: z.string().nullable(),
});

function toApproval(row: unknown): RememberedApproval {
  const r = ApprovalRow.parse(row);
  return {
    id: r.id,
    agent: r.agent,
    tool: r.tool,
    scope: r.scope,
    channel: r.channel,
    sender: r.sender,
    approvedBy: r.approved_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}

function toPending(row: unknown): PendingApproval {
  const r = PendingRow.parse(row);
  return {
    code: r.code,
    callId: r.call_id,
    agent: r.agent,
    tool: r.tool,
    tier: r.tier,
    scope: r.scope,
    channel: r.channel,
    session: r.session,
    sender: r.sender,
    summary: r.summary,
    sandbox: r.sandbox,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: r.status,
    remember: r.remember === 1,
    decidedBy: r.decided_by,
    decidedVia: r.decided_via,
  };
}

/** The key of a remembered approval. */
export interface ApprovalKey {
  agent: string;
  tool: string;
  scope: string;
  channel: string;
  sender: string;
}

/** Code alphabet: no 0/O/1/I/L, so a code read aloud or typed on a phone is unambiguous. */
const CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz";

/** A fresh 6-character approval code. */
export function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join("");
}

/** The permissions database. */
export class PermissionStore {
  readonly #db: Database;

  private constructor(db: Database) {
    this.#db = db;
  }

  /** Opens (creating and migrating) `permissions.db` at `path`. */
  static open(path: string): PermissionStore {
    return new PermissionStore(openDatabase(path, { migrations: PERMISSION_MIGRATIONS }));
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  /** The unexpired approval covering `key` at `now`, if any. */
  findRemembered(key: ApprovalKey, now: number): RememberedApproval | null {
    const row = this.#db.prepare(
      `SELECT * FROM approvals WHERE agent = ? AND tool = ? AND scope = ? AND channel = ?
       AND sender = ? AND expires_at > ?`,
    ).get(key.agent, key.tool, key.scope, key.channel, key.sender, now);
    return row ? toApproval(row) : null;
  }

  /** Remembers an approval until `expiresAt` (replacing an older one for the same key). */
  remember(key: ApprovalKey, approvedBy: string, now: number, expiresAt: number): void {
    this.#db.prepare(
      `INSERT INTO approvals (agent, tool, scope, channel, sender, approved_by, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent, tool, scope, channel, sender) DO UPDATE SET
         approved_by = excluded.approved_by, created_at = excluded.created_at,
         expires_at = excluded.expires_at`,
    ).run(key.agent, key.tool, key.scope, key.channel, key.sender, approvedBy, now, expiresAt);
  }

  /** Remembered approvals still valid at `now`, newest first. */
  listRemembered(now: number): RememberedApproval[] {
    return this.#db.prepare(
      "SELECT * FROM approvals WHERE expires_at > ? ORDER BY created_at DESC, id DESC",
    ).all(now).map(toApproval);
  }

  /** Deletes remembered approvals of `tool` (all agents, or one); returns how many. */
  revoke(tool: string, agent?: string): number {
    const result = agent === undefined
      ? this.#db.prepare("DELETE FROM approvals WHERE tool = ?").run(tool)
      : this.#db.prepare("DELETE FROM approvals WHERE tool = ? AND agent = ?").run(tool, agent);
    return Number(result.changes);
  }

  /** Records a new pending request; retries the (random) code on the unlikely collision. */
  addPending(
    p: Omit<PendingApproval, "code" | "status" | "remember" | "decidedBy" | "decidedVia">,
  ): PendingApproval {
    for (let attempt = 0; attempt < 10; attempt++) {
      const code = newCode();
      try {
        this.#db.prepare(
          `INSERT INTO pending (code, call_id, agent, tool, tier, scope, channel, session, sender,
             summary, sandbox, created_at, expires_at, status)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
        ).run(
          code,
          p.callId,
          p.agent,
          p.tool,
          p.tier,
          p.scope,
          p.channel,
          p.session,
          p.sender,
          p.summary,
          p.sandbox,
          p.createdAt,
          p.expiresAt,
        );
        return this.getPending(code)!;
      } catch (e) {
        if (!String((e as Error).message).includes("UNIQUE")) throw e;
      }
    }
    throw new Error("Could not allocate an approval code.");
  }

  /** One request by code (any status). */
  getPending(code: string): PendingApproval | null {
    const row = this.#db.prepare("SELECT * FROM pending WHERE code = ?").get(code.toLowerCase());
    return row ? toPending(row) : null;
  }

  /** Requests still waiting at `now`, oldest first. */
  listPending(now: number): PendingApproval[] {
    return this.#db.prepare(
      "SELECT * FROM pending WHERE status = 'pending' AND expires_at > ? ORDER BY created_at",
    ).all(now).map(toPending);
  }

  /**
   * Decides a waiting request. Only a request still `pending` and unexpired changes (so a
   * late or second answer does nothing); returns whether this call decided it.
   */
  decide(
    code: string,
    decision: "approved" | "denied",
    by: string,
    via: string,
    remember: boolean,
    now: number,
  ): boolean {
    const result = this.#db.prepare(
      `UPDATE pending SET status = ?, decided_by = ?, decided_via = ?, remember = ?, decided_at = ?
       WHERE code = ? AND status = 'pending' AND expires_at > ?`,
    ).run(decision, by, via, remember ? 1 : 0, now, code.toLowerCase(), now);
    return Number(result.changes) === 1;
  }

  /** Marks a waiting request expired (denied by silence); returns whether it was still waiting. */
  expire(code: string, now: number): boolean {
    const result = this.#db.prepare(
      `UPDATE pending SET status = 'expired', decided_at = ? WHERE code = ? AND status = 'pending'`,
    ).run(now, code);
    return Number(result.changes) === 1;
  }

  /**
   * Marks every request still waiting as expired, decided by `gateway` via `restart`, except
   * those of `keepChannels`; returns how many. For gateway start: the turn that waited on a
   * request died with the last process, so an approval would run nothing.
   */
  expireAbandoned(now: number, keepChannels: readonly string[]): number {
    const keep = keepChannels.map(() => "?").join(", ");
    const result = this.#db.prepare(
      `UPDATE pending SET status = 'expired', decided_by = 'gateway', decided_via = 'restart',
       decided_at = ? WHERE status = 'pending'${keep ? ` AND channel NOT IN (${keep})` : ""}`,
    ).run(now, ...keepChannels);
    return Number(result.changes);
  }

  /** Deletes decided requests older than `before` (housekeeping). */
  pruneDecided(before: number): number {
    const result = this.#db.prepare(
      "DELETE FROM pending WHERE status != 'pending' AND created_at < ?",
    ).run(before);
    return Number(result.changes);
  }
}
