/**
 * Scheduled tasks in SQLite (`<data dir>/schedule.db`), so they survive restarts and the CLI
 * (`wirken schedule ...`) and the running gateway see the same list.
 *
 * "Never two runs of one task at once" is a lease in the row itself: a run starts only after
 * an `UPDATE ... WHERE lease_until IS NULL OR lease_until < now` changed the row, which SQLite
 * does atomically even between processes. A lease outlives a crashed gateway only until
 * `lease_until`, so a task is never stuck for good.
 *
 * @module
 */
import { z } from "zod";
import { type Database, type Migration, openDatabase } from "../store/sqlite.ts";
import type { Timing } from "./timing.ts";

/** The schedule database's forward-only migrations. */
export const SCHEDULE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "tasks and runs",
    up: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        channel TEXT NOT NULL,
        conversation TEXT NOT NULL,
        owner TEXT NOT NULL,
        prompt TEXT NOT NULL,
        timing TEXT NOT NULL,
        missed TEXT NOT NULL CHECK (missed IN ('run', 'skip')),
        paused INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        next_run INTEGER,
        last_run INTEGER,
        last_status TEXT,
        last_detail TEXT,
        lease_until INTEGER
      ) STRICT;
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        status TEXT NOT NULL,
        detail TEXT
      ) STRICT;
      CREATE INDEX runs_task ON runs (task, started_at);
    `,
  },
];

const TimingSchema: z.ZodType<Timing> = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("cron"), expr: z.string(), tz: z.string() }),
  z.object({ kind: z.literal("every"), ms: z.number().int().positive() }),
  z.object({ kind: z.literal("at"), at: z.number() }),
]);

/** What happens to a run missed while the gateway was down. */
export type MissedPolicy = "run" | "skip";

/** One scheduled task. */
export interface Task {
  id: string;
  agent: string;
  /** Target conversation: channel and conversation id. */
  channel: string;
  conversation: string;
  /** The sender the run speaks as (allow-lists, approvals, budgets apply to them). */
  owner: string;
  prompt: string;
  timing: Timing;
  missed: MissedPolicy;
  paused: boolean;
  createdAt: number;
  /** Ms since the epoch; null when a one-shot task has run. */
  nextRun: number | null;
  lastRun: number | null;
  lastStatus: string | null;
  lastDetail: string | null;
  /** A run holds the task until then. */
  leaseUntil: number | null;
}

/** A new task, as `schedule add` makes it. */
export type NewTask = Omit<
  Task,
  "id" | "paused" | "lastRun" | "lastStatus" | "lastDetail" | "leaseUntil"
>;

/** One recorded run. */
export interface RunRecord {
  id: number;
  task: string;
  startedAt: number;
  finishedAt: number | null;
  status: string;
  detail: string | null;
}

type Row = Record<string, string | number | null>;

function toTask(r: Row): Task {
  return {
    id: String(r.id),
    agent: String(r.agent),
    channel: String(r.channel),
    conversation: String(r.conversation),
    owner: String(r.owner),
    prompt: String(r.prompt),
    timing: TimingSchema.parse(JSON.parse(String(r.timing))),
    missed: r.missed === "skip" ? "skip" : "run",
    paused: r.paused === 1,
    createdAt: Number(r.created_at),
    nextRun: r.next_run === null ? null : Number(r.next_run),
    lastRun: r.last_run === null ? null : Number(r.last_run),
    lastStatus: r.last_status === null ? null : String(r.last_status),
    lastDetail: r.last_detail === null ? null : String(r.last_detail),
    leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
  };
}

/** Short random ids that are easy to type (`wirken schedule remove k3j9xz`). */
function newId(): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}

/** The task store. */
export class ScheduleStore {
  readonly #db: Database;

  /** Wraps an open database (see {@linkcode ScheduleStore.open}). */
  constructor(db: Database) {
    this.#db = db;
  }

  /** Opens (creating) the store at `path`. */
  static open(path: string): ScheduleStore {
    return new ScheduleStore(openDatabase(path, { migrations: SCHEDULE_MIGRATIONS }));
  }

  /** Adds a task; returns it with its id. */
  add(t: NewTask): Task {
    const id = newId();
    this.#db.prepare(
      `INSERT INTO tasks (id, agent, channel, conversation, owner, prompt, timing, missed,
         created_at, next_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      t.agent,
      t.channel,
      t.conversation,
      t.owner,
      t.prompt,
      JSON.stringify(t.timing),
      t.missed,
      t.createdAt,
      t.nextRun,
    );
    return this.get(id)!;
  }

  /** A task by id. */
  get(id: string): Task | undefined {
    const r = this.#db.prepare("SELECT * FROM tasks WHERE id = ?").get(id) as Row | undefined;
    return r ? toTask(r) : undefined;
  }

  /** Every task, soonest first (finished one-shots last). */
  list(): Task[] {
    const rows = this.#db.prepare(
      "SELECT * FROM tasks ORDER BY next_run IS NULL, next_run, created_at",
    ).all() as Row[];
    return rows.map(toTask);
  }

  /** Deletes a task and its run history; true when it existed. */
  remove(id: string): boolean {
    this.#db.prepare("DELETE FROM runs WHERE task = ?").run(id);
    return Number(this.#db.prepare("DELETE FROM tasks WHERE id = ?").run(id).changes) > 0;
  }

  /** Pauses or resumes; true when the task exists. */
  setPaused(id: string, paused: boolean): boolean {
    return Number(
      this.#db.prepare("UPDATE tasks SET paused = ? WHERE id = ?").run(paused ? 1 : 0, id).changes,
    ) > 0;
  }

  /** Sets the next run time (null: none). */
  setNextRun(id: string, next: number | null): void {
    this.#db.prepare("UPDATE tasks SET next_run = ? WHERE id = ?").run(next, id);
  }

  /** Unpaused tasks whose next run is at or before `now`. */
  due(now: number): Task[] {
    const rows = this.#db.prepare(
      "SELECT * FROM tasks WHERE paused = 0 AND next_run IS NOT NULL AND next_run <= ? ORDER BY next_run",
    ).all(now) as Row[];
    return rows.map(toTask);
  }

  /**
   * Takes the task's lease until `until` and sets its next run; false when another run holds
   * it (then nothing changed). The one place a run may start.
   */
  claim(id: string, now: number, until: number, next: number | null): boolean {
    const r = this.#db.prepare(
      `UPDATE tasks SET lease_until = ?, next_run = ?
       WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)`,
    ).run(until, next, id, now);
    return Number(r.changes) === 1;
  }

  /** Records the start of a run; returns its id. */
  startRun(task: string, now: number): number {
    const r = this.#db.prepare(
      "INSERT INTO runs (task, started_at, status) VALUES (?, ?, 'running')",
    ).run(task, now);
    return Number(r.lastInsertRowid);
  }

  /** Records the end of a run and releases the lease. */
  finishRun(run: number, task: string, now: number, status: string, detail: string): void {
    this.#db.prepare("UPDATE runs SET finished_at = ?, status = ?, detail = ? WHERE id = ?")
      .run(now, status, detail, run);
    this.#db.prepare(
      `UPDATE tasks SET lease_until = NULL, last_run = ?, last_status = ?, last_detail = ?
       WHERE id = ?`,
    ).run(now, status, detail, task);
  }

  /** The latest runs of a task, newest first. */
  runs(task: string, limit = 20): RunRecord[] {
    const rows = this.#db.prepare(
      "SELECT * FROM runs WHERE task = ? ORDER BY id DESC LIMIT ?",
    ).all(task, limit) as Row[];
    return rows.map((r) => ({
      id: Number(r.id),
      task: String(r.task),
      startedAt: Number(r.started_at),
      finishedAt: r.finished_at === null ? null : Number(r.finished_at),
      status: String(r.status),
      detail: r.detail === null ? null : String(r.detail),
    }));
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }
}

/** Where the schedule lives in a data directory. */
export function scheduleDbPath(dataRoot: string): string {
  return `${dataRoot}/schedule.db`;
}
