/**
 * The audit log: `audit.db`, one global hash chain, durable before `append` resolves.
 *
 * Appends made in the same tick are committed together (group commit): each caller still gets
 * its promise resolved only after the transaction holding its event has committed with
 * `synchronous=FULL`, so the write is on disk before a tool runs. Every write is synchronous
 * (`node:sqlite`): a transaction never spans an `await`, so nothing else sharing the
 * connection can slip into it.
 *
 * @module
 */
import { type Database, openDatabase } from "../store/sqlite.ts";
import { redact } from "../log/redact.ts";
import type { Logger } from "../log/logger.ts";
import type { Secret } from "../secret.ts";
import type { AuditEventInput, AuditKind, AuditSink } from "./types.ts";
import { AUDIT_KINDS, isAuditKind } from "./kinds.ts";
import { canonicalJson, type JsonValue, toJsonData } from "./canonical.ts";
import {
  type AuditEvent,
  chainHash,
  checkpointMessage,
  GENESIS_HASH,
  type HashedFields,
  headMessage,
} from "./chain.ts";
import { type AuditSigner, signerFromSecret } from "./keys.ts";
import { AUDIT_MIGRATIONS } from "./schema.ts";
import { type ChainHead, ChainVerifier, type VerifyOptions, type VerifyResult } from "./verify.ts";
import { AuditError } from "./errors.ts";

/** Options of {@linkcode openAuditLog}. */
export interface AuditLogOptions {
  /** The gateway's Ed25519 seed from the vault (`ensureSigningKey`); needed to sign and prune. */
  signingKey?: Secret;
  /** Time source; tests inject one. */
  clock?: () => Date;
  /** Where pruning holds and listener failures are reported. */
  logger?: Logger;
}

/** Filters of {@linkcode AuditLog.query}. */
export interface AuditQuery {
  /** Only this session. */
  session?: string;
  /** Only this agent. */
  agent?: string;
  /** Only this channel. */
  channel?: string;
  /** Only this actor. */
  actor?: string;
  /** Only these kinds (empty: all). */
  kinds?: readonly AuditKind[];
  /** Inclusive lower bound on time. */
  since?: Date;
  /** Exclusive upper bound on time. */
  until?: Date;
  /** Only events after this seq. */
  afterSeq?: number;
  /** Default 100. */
  limit?: number;
  /** `desc` returns the newest first (what `audit log` shows). Default `asc`. */
  order?: "asc" | "desc";
}

/** What a prune did. */
export interface PruneResult {
  /** Events deleted. */
  pruned: number;
  /** The last pruned seq, or null when nothing was old enough. */
  throughSeq: number | null;
  /** Seq of the checkpoint event written, or null. */
  checkpointSeq: number | null;
  /** Set when pruning stopped early to keep events a SIEM destination has not received yet. */
  heldBy?: string;
}

/** Options of {@linkcode AuditLog.prune}. */
export interface PruneOptions {
  /** Events older than this many days are removed. */
  retentionDays: number;
  /** Count what would be pruned without changing anything. */
  dryRun?: boolean;
  /**
   * Never prune past these seqs (e.g. SIEM cursors: an event not yet delivered is kept even if
   * old, because losing it would be worse than keeping it longer). Keyed by a label for reports.
   */
  keepAfter?: ReadonlyMap<string, number>;
  /**
   * Most events removed by one call (default 50,000): the prune holds the write lock, and a
   * tool waiting on `append` must not wait for a year of backlog. Call again for the rest.
   */
  maxEvents?: number;
}

interface Row {
  seq: number;
  time: string;
  session: string | null;
  agent: string | null;
  channel: string | null;
  actor: string;
  kind: string;
  payload: string;
  prev_hash: string;
  hash: string;
}

interface Prepared {
  time: string;
  session: string | null;
  agent: string | null;
  channel: string | null;
  actor: string;
  kind: AuditKind;
  payload: { [key: string]: JsonValue };
  payloadText: string;
}

interface Pending {
  input: Prepared;
  resolve: (seq: number) => void;
  reject: (e: unknown) => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Turns a stored row into an event; throws when the payload is not JSON. */
export function rowToEvent(r: Row): AuditEvent {
  return {
    seq: r.seq,
    time: r.time,
    session: r.session,
    agent: r.agent,
    channel: r.channel,
    actor: r.actor,
    kind: r.kind as AuditKind,
    payload: JSON.parse(r.payload) as { [key: string]: JsonValue },
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** The audit log. Implements {@linkcode AuditSink} for every other room. */
export class AuditLog implements AuditSink {
  readonly #db: Database;
  readonly #signer: AuditSigner | undefined;
  readonly #clock: () => Date;
  readonly #logger: Logger | undefined;
  #pending: Pending[] = [];
  #scheduled = false;
  #closed = false;
  #listeners = new Set<(lastSeq: number) => void>();

  /** Use {@linkcode openAuditLog}. */
  constructor(db: Database, signer: AuditSigner | undefined, clock: () => Date, logger?: Logger) {
    this.#db = db;
    this.#signer = signer;
    this.#clock = clock;
    this.#logger = logger;
  }

  /** The gateway's public key (base64), when opened with a signing key. */
  get publicKey(): string | undefined {
    return this.#signer?.publicKey;
  }

  /** The underlying handle, for the SIEM cursor table in the same file. */
  get database(): Database {
    return this.#db;
  }

  /**
   * Records `event` and resolves with its seq once it is durable. Rejects (with an
   * {@linkcode AuditError}) when it could not be written: the caller must then not act.
   */
  append(event: AuditEventInput): Promise<number> {
    let input: Prepared;
    try {
      this.#assertOpen();
      input = this.#prepare(event);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  /** Records several events in one transaction; resolves with their seqs, in order. */
  appendBatch(events: readonly AuditEventInput[]): Promise<number[]> {
    try {
      this.#assertOpen();
      const prepared = events.map((e) => this.#prepare(e));
      this.#flush();
      return Promise.resolve(this.#write(prepared));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Calls `listener` with the newest seq after each commit; returns an unsubscribe function. */
  onAppend(listener: (lastSeq: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The newest event's seq and hash as the head records them, or null for an empty log. */
  head(): ChainHead | null {
    const r = this.#db.prepare(
      "SELECT seq, hash, signature, public_key FROM chain_head WHERE id = 1",
    ).get() as
      | { seq: number; hash: string; signature: string | null; public_key: string | null }
      | undefined;
    return r ? { seq: r.seq, hash: r.hash, signature: r.signature, publicKey: r.public_key } : null;
  }

  /** Oldest retained seq, or null when empty. */
  firstSeq(): number | null {
    const r = this.#db.prepare("SELECT MIN(seq) AS s FROM events").get() as { s: number | null };
    return r.s;
  }

  /** Events matching `q`. */
  query(q: AuditQuery = {}): AuditEvent[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const eq = (col: string, v: string | undefined) => {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    };
    eq("session", q.session);
    eq("agent", q.agent);
    eq("channel", q.channel);
    eq("actor", q.actor);
    if (q.kinds && q.kinds.length > 0) {
      where.push(`kind IN (${q.kinds.map(() => "?").join(",")})`);
      params.push(...q.kinds);
    }
    if (q.since) {
      where.push("time >= ?");
      params.push(q.since.toISOString());
    }
    if (q.until) {
      where.push("time < ?");
      params.push(q.until.toISOString());
    }
    if (q.afterSeq !== undefined) {
      where.push("seq > ?");
      params.push(q.afterSeq);
    }
    const order = q.order === "desc" ? "DESC" : "ASC";
    const sql = `SELECT * FROM events ${where.length ? "WHERE " + where.join(" AND ") : ""}
      ORDER BY seq ${order} LIMIT ?`;
    params.push(q.limit ?? 100);
    return (this.#db.prepare(sql).all(...params) as unknown as Row[]).map(rowToEvent);
  }

  /** Up to `limit` events with seq above `afterSeq`, oldest first (SIEM forwarding reads this). */
  readAfter(afterSeq: number, limit: number): AuditEvent[] {
    const rows = this.#db.prepare("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
      .all(afterSeq, limit) as unknown as Row[];
    return rows.map(rowToEvent);
  }

  /** Every retained event, oldest first, without loading them all at once. */
  *iterate(): Generator<AuditEvent> {
    const stmt = this.#db.prepare("SELECT * FROM events ORDER BY seq");
    for (const r of stmt.iterate()) yield rowToEvent(r as unknown as Row);
  }

  /**
   * Recomputes the whole retained chain. Signatures are checked against `trustedKeys`, or
   * against this log's own key when it was opened with one.
   */
  verify(options: VerifyOptions = {}): VerifyResult {
    const trustedKeys = options.trustedKeys ??
      (this.#signer ? [this.#signer.publicKey] : undefined);
    return verifyDatabase(this.#db, { trustedKeys });
  }

  /**
   * Removes events older than `retentionDays` without breaking verifiability: in one
   * transaction, appends a signed `audit.checkpoint` naming the last pruned seq and its hash,
   * then deletes through that seq. Only a contiguous oldest prefix is ever removed.
   */
  prune(options: PruneOptions): PruneResult {
    this.#assertOpen();
    if (!(options.retentionDays > 0)) {
      throw new AuditError(
        `Retention must be a positive number of days, not ${options.retentionDays}.`,
        {
          fix: "Set audit.retentionDays in config.json to 1 or more.",
        },
      );
    }
    const cutoff = new Date(this.#clock().getTime() - options.retentionDays * DAY_MS).toISOString();
    const db = this.#db;
    const plan = (): { through: number; first: number; heldBy?: string } | null => {
      const first = this.firstSeq();
      if (first === null) return null;
      // The first event young enough to keep bounds the prefix: a clock that jumped back must
      // not make us delete a hole in the middle.
      const young = db.prepare("SELECT MIN(seq) AS s FROM events WHERE time >= ?").get(cutoff) as {
        s: number | null;
      };
      const tail = db.prepare("SELECT MAX(seq) AS s FROM events").get() as { s: number };
      let through = young.s === null ? tail.s : young.s - 1;
      let heldBy: string | undefined;
      for (const [label, seq] of options.keepAfter ?? []) {
        if (seq < through) {
          through = seq;
          heldBy = label;
        }
      }
      if (through < first) return heldBy ? { through: first - 1, first, heldBy } : null;
      through = Math.min(through, first + (options.maxEvents ?? 50_000) - 1);
      return { through, first, heldBy };
    };
    if (options.dryRun) {
      const p = plan();
      if (!p || p.through < p.first) {
        return { pruned: 0, throughSeq: null, checkpointSeq: null, heldBy: p?.heldBy };
      }
      return {
        pruned: p.through - p.first + 1,
        throughSeq: p.through,
        checkpointSeq: null,
        heldBy: p.heldBy,
      };
    }
    const signer = this.#signer;
    if (!signer) {
      throw new AuditError("Pruning needs the gateway's audit signing key, and none was given.", {
        fix:
          "Run pruning from the gateway (it loads the key from the vault), or unlock the vault first.",
      });
    }
    this.#flush();
    let result: PruneResult = { pruned: 0, throughSeq: null, checkpointSeq: null };
    let lastSeq = 0;
    this.#transaction(() => {
      const p = plan();
      if (!p || p.through < p.first) {
        result = { pruned: 0, throughSeq: null, checkpointSeq: null, heldBy: p?.heldBy };
        return;
      }
      const throughHash = (db.prepare("SELECT hash FROM events WHERE seq = ?").get(p.through) as {
        hash: string;
      }).hash;
      const payload = {
        throughSeq: p.through,
        throughHash,
        prunedCount: p.through - p.first + 1,
        publicKey: signer.publicKey,
        signature: signer.sign(checkpointMessage(p.through, throughHash)),
      };
      const [cpSeq] = this.#appendInTransaction([{
        time: this.#clock().toISOString(),
        session: null,
        agent: null,
        channel: null,
        actor: "gateway",
        kind: "audit.checkpoint",
        payload,
        payloadText: canonicalJson(payload),
      }]);
      lastSeq = cpSeq;
      const deleted = db.prepare("DELETE FROM events WHERE seq <= ?").run(p.through);
      result = {
        pruned: Number(deleted.changes),
        throughSeq: p.through,
        checkpointSeq: cpSeq,
        heldBy: p.heldBy,
      };
    });
    if (lastSeq) this.#notify(lastSeq);
    if (result.heldBy) {
      this.#logger?.warn(
        "audit pruning held back: a SIEM destination has not received older events",
        {
          destination: result.heldBy,
        },
      );
    }
    return result;
  }

  /** Commits anything pending and closes the database. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#db.close();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new AuditError("The audit log is closed.", {
        fix: "This is a bug: something appended after the gateway shut the log down.",
      });
    }
  }

  #prepare(e: AuditEventInput): Prepared {
    if (!isAuditKind(e.kind)) {
      throw new AuditError(`Unknown audit kind ${JSON.stringify(e.kind)}.`, {
        fix: `Use one of: ${AUDIT_KINDS.join(", ")}.`,
      });
    }
    if (typeof e.actor !== "string" || e.actor.length === 0) {
      throw new AuditError("An audit event needs an actor.", {
        fix: "Pass the sender id, `gateway`, `cli` or the adapter id as actor.",
      });
    }
    // The one redaction path runs before anything is stored or hashed.
    const data = toJsonData(redact(e.payload ?? {}));
    const payload = data !== null && typeof data === "object" && !Array.isArray(data)
      ? data
      : { value: data };
    return {
      time: this.#clock().toISOString(),
      session: e.session ?? null,
      agent: e.agent ?? null,
      channel: e.channel ?? null,
      actor: e.actor,
      kind: e.kind,
      payload,
      payloadText: canonicalJson(payload),
    };
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    try {
      const seqs = this.#write(batch.map((p) => p.input));
      batch.forEach((p, i) => p.resolve(seqs[i]));
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  #write(inputs: readonly Prepared[]): number[] {
    if (inputs.length === 0) return [];
    let seqs: number[] = [];
    this.#transaction(() => {
      seqs = this.#appendInTransaction(inputs);
    });
    this.#notify(seqs[seqs.length - 1]);
    return seqs;
  }

  #transaction(body: () => void): void {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (e) {
      throw new AuditError(`Cannot write to the audit log: ${(e as Error).message}`, {
        fix: "Check disk space and that no other program holds audit.db (wirken doctor).",
        cause: e,
      });
    }
    try {
      body();
      this.#db.exec("COMMIT");
    } catch (e) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* the failed COMMIT may already have rolled back */ }
      if (e instanceof AuditError) throw e;
      throw new AuditError(`Cannot write to the audit log: ${(e as Error).message}`, {
        fix: "Check disk space, then run `wirken audit verify`.",
        cause: e,
      });
    }
  }

  #appendInTransaction(inputs: readonly Prepared[]): number[] {
    const db = this.#db;
    // The tail is read inside the write transaction, so another process (a CLI prune) that
    // appended meanwhile is chained onto, not forked from.
    const tail = db.prepare("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").get() as
      | { seq: number; hash: string }
      | undefined;
    const head = this.head();
    let prevSeq = tail?.seq ?? 0;
    let prevHash = tail?.hash ?? GENESIS_HASH;
    if (head && (head.seq !== prevSeq || head.hash !== prevHash)) {
      // Fail closed: chaining onto a truncated or edited tail would bury the evidence.
      throw new AuditError(
        `The audit log's last event (seq ${prevSeq}) does not match its recorded head (seq ${head.seq}); the log was tampered with or damaged.`,
        {
          fix:
            "Run `wirken audit verify` to see what changed; keep audit.db as evidence and move it aside to start a new log.",
        },
      );
    }
    const insert = db.prepare(`INSERT INTO events
      (seq, time, session, agent, channel, actor, kind, payload, prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const seqs: number[] = [];
    for (const p of inputs) {
      const seq = prevSeq + 1;
      const fields: HashedFields = {
        seq,
        time: p.time,
        session: p.session,
        agent: p.agent,
        channel: p.channel,
        actor: p.actor,
        kind: p.kind,
        payload: p.payload,
      };
      const hash = chainHash(prevHash, fields);
      insert.run(
        seq,
        p.time,
        p.session,
        p.agent,
        p.channel,
        p.actor,
        p.kind,
        p.payloadText,
        prevHash,
        hash,
      );
      seqs.push(seq);
      prevSeq = seq;
      prevHash = hash;
    }
    const signature = this.#signer ? this.#signer.sign(headMessage(prevSeq, prevHash)) : null;
    db.prepare(`INSERT INTO chain_head (id, seq, hash, signature, public_key) VALUES (1, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
        signature = excluded.signature, public_key = excluded.public_key`)
      .run(prevSeq, prevHash, signature, this.#signer?.publicKey ?? null);
    return seqs;
  }

  #notify(lastSeq: number): void {
    for (const l of this.#listeners) {
      try {
        l(lastSeq);
      } catch (e) {
        this.#logger?.error("audit append listener failed", { error: e });
      }
    }
  }
}

/** Verifies the chain stored in an open `audit.db` handle. */
export function verifyDatabase(db: Database, options: VerifyOptions = {}): VerifyResult {
  // One read transaction: the gateway may be appending from another process, and events read
  // from one snapshot with the head from a later one would look like a truncated tail.
  db.exec("BEGIN");
  try {
    return verifySnapshot(db, options);
  } finally {
    db.exec("COMMIT");
  }
}

function verifySnapshot(db: Database, options: VerifyOptions): VerifyResult {
  const verifier = new ChainVerifier(options);
  const cps = db.prepare("SELECT * FROM events WHERE kind = 'audit.checkpoint' ORDER BY seq")
    .all() as unknown as Row[];
  verifier.expectCheckpoints(cps.map(safeRowToEvent));
  for (const r of db.prepare("SELECT * FROM events ORDER BY seq").iterate()) {
    const row = r as unknown as Row;
    if (row.kind === "audit.checkpoint") verifier.push(safeRowToEvent(row));
    // The stored payload is canonical JSON: hash its bytes as they are (any edit, even one
    // that keeps the meaning, is a change), without parsing 100k payloads.
    else verifier.push(rowToEvent({ ...row, payload: "{}" }), row.payload);
  }
  const h = db.prepare("SELECT seq, hash, signature, public_key FROM chain_head WHERE id = 1")
    .get() as
      | { seq: number; hash: string; signature: string | null; public_key: string | null }
      | undefined;
  return verifier.finish(
    h ? { seq: h.seq, hash: h.hash, signature: h.signature, publicKey: h.public_key } : null,
  );
}

// A payload edited into invalid JSON must show up as a hash mismatch at its seq, not a crash.
function safeRowToEvent(r: Row): AuditEvent {
  try {
    return rowToEvent(r);
  } catch {
    return { ...rowToEvent({ ...r, payload: "{}" }), payload: { unparseable: r.payload } };
  }
}

/** Opens (creating if needed) the audit log at `path` (`dataPaths(root).auditDb`). */
export function openAuditLog(path: string, options: AuditLogOptions = {}): AuditLog {
  const signer = options.signingKey ? signerFromSecret(options.signingKey) : undefined;
  const db = openDatabase(path, { migrations: AUDIT_MIGRATIONS, synchronous: "FULL" });
  return new AuditLog(db, signer, options.clock ?? (() => new Date()), options.logger);
}
