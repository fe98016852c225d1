/**
 * The migrations of `audit.db`.
 *
 * `events` is append-only by construction: an UPDATE trigger refuses every change, an INSERT
 * trigger refuses anything but the next seq, and a DELETE trigger refuses any row that no later
 * checkpoint event covers. So the only delete that passes is the prune path, which first appends
 * a signed checkpoint naming the last pruned seq and hash. (Triggers stop mistakes and
 * compromised code using this connection; someone editing the file by hand can drop them, which
 * is what `verify` and the signatures are for.)
 *
 * @module
 */
import type { Migration } from "../store/sqlite.ts";

/** Forward-only migrations of `audit.db`. Never edit a shipped step; add a new one. */
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "hash-chained events, signed head, SIEM cursors",
    up: `
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  session TEXT,
  agent TEXT,
  channel TEXT,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_session ON events(session, seq);
CREATE INDEX events_by_kind ON events(kind, seq);
CREATE INDEX events_by_time ON events(time);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only: UPDATE is refused');
END;

CREATE TRIGGER events_next_seq_only BEFORE INSERT ON events
WHEN NEW.seq <> COALESCE((SELECT MAX(seq) FROM events), 0) + 1
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only: only the next seq may be inserted');
END;

CREATE TRIGGER events_delete_only_checkpointed BEFORE DELETE ON events
WHEN NOT EXISTS (
  SELECT 1 FROM events c
  WHERE c.kind = 'audit.checkpoint' AND c.seq > OLD.seq
    AND json_extract(c.payload, '$.throughSeq') >= OLD.seq
)
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only: only rows covered by a checkpoint may be pruned');
END;

CREATE TABLE chain_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  signature TEXT,
  public_key TEXT
) STRICT;

CREATE TABLE siem_cursors (
  destination TEXT PRIMARY KEY,
  delivered_seq INTEGER NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_success_at TEXT,
  updated_at TEXT NOT NULL
) STRICT;
`,
  },
];
