import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { join } from "node:path";
import { StoreError } from "../errors.ts";
import { type Migration, openDatabase, schemaVersion, writeTransaction } from "./sqlite.ts";

const v1: Migration = { version: 1, name: "notes", up: "CREATE TABLE notes (t TEXT) STRICT" };
const v2: Migration = {
  version: 2,
  name: "notes author",
  up: "ALTER TABLE notes ADD COLUMN author TEXT",
};

async function tempDb(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "wirken-store-" }), "t.db");
}

Deno.test("openDatabase: applies migrations in order, once, and keeps data", async () => {
  const path = await tempDb();
  let db = openDatabase(path, { migrations: [v1] });
  assertEquals(schemaVersion(db), 1);
  db.prepare("INSERT INTO notes (t) VALUES (?)").run("kept");
  db.close();

  db = openDatabase(path, { migrations: [v1, v2] });
  assertEquals(schemaVersion(db), 2);
  const rows = db.prepare("SELECT t, author FROM notes").all();
  assertEquals(rows.map((r) => ({ ...r })), [{ t: "kept", author: null }]);
  db.close();

  // Re-opening with the same list applies nothing twice.
  db = openDatabase(path, { migrations: [v1, v2] });
  const applied = db.prepare("SELECT version FROM schema_migrations ORDER BY version").all();
  assertEquals(applied.map((r) => r.version), [1, 2]);
  db.close();
});

Deno.test("openDatabase: WAL mode and 0600 files", async () => {
  const path = await tempDb();
  const db = openDatabase(path, { migrations: [v1] });
  const mode = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
  assertEquals(mode.journal_mode, "wal");
  db.prepare("INSERT INTO notes (t) VALUES ('x')").run();
  for (const p of [path, path + "-wal"]) {
    const info = await Deno.stat(p);
    assertEquals((info.mode ?? 0) & 0o777, 0o600, p);
  }
  db.close();
});

Deno.test("openDatabase: a failing migration rolls back and leaves the old version", async () => {
  const path = await tempDb();
  openDatabase(path, { migrations: [v1] }).close();
  const bad: Migration = { version: 2, name: "bad", up: "ALTER TABLE missing ADD COLUMN x TEXT" };
  assertThrows(
    () => openDatabase(path, { migrations: [v1, bad] }),
    StoreError,
    "Migration 2 (bad)",
  );
  const db = openDatabase(path, { migrations: [v1] });
  assertEquals(schemaVersion(db), 1);
  db.close();
});

Deno.test("openDatabase: refuses a database newer than this build", async () => {
  const path = await tempDb();
  openDatabase(path, { migrations: [v1, v2] }).close();
  const e = assertThrows(() => openDatabase(path, { migrations: [v1] }), StoreError, "newer");
  assert(e.fix?.includes("Upgrade"));
});

Deno.test("openDatabase: rejects out-of-order migration lists", async () => {
  const path = await tempDb();
  assertThrows(() => openDatabase(path, { migrations: [v2] }), StoreError, "out of order");
});

Deno.test("openDatabase: tightens a pre-existing world-readable file", async () => {
  const path = await tempDb();
  await Deno.writeFile(path, new Uint8Array(), { mode: 0o644 });
  await Deno.chmod(path, 0o644);
  openDatabase(path, { migrations: [v1] }).close();
  assertEquals(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
});

Deno.test("openDatabase: processes opening a new file at once all succeed, migrating once", async () => {
  const path = await tempDb();
  const module = new URL("./sqlite.ts", import.meta.url).href;
  const script = `
    import { openDatabase } from "${module}";
    const m = [
      { version: 1, name: "a", up: "CREATE TABLE a (x INTEGER) STRICT" },
      { version: 2, name: "b", up: "CREATE TABLE b (x INTEGER) STRICT" },
    ];
    const db = openDatabase(${JSON.stringify(path)}, { migrations: m });
    db.prepare("INSERT INTO a (x) VALUES (1)").run();
    db.close();`;
  const runs = await Promise.all(
    Array.from({ length: 6 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", script],
        stdout: "piped",
        stderr: "piped",
      }).output()),
  );
  for (const r of runs) assert(r.success, new TextDecoder().decode(r.stderr));
  const db = openDatabase(path, { migrations: [v1, v2] });
  const applied = db.prepare("SELECT version FROM schema_migrations ORDER BY version").all();
  assertEquals(applied.map((r) => r.version), [1, 2]);
  assertEquals((db.prepare("SELECT COUNT(*) AS n FROM a").get() as { n: number }).n, 6);
  db.close();
});

Deno.test("openDatabase: a statement is compiled once per SQL, and iterations never share one", async () => {
  const db = openDatabase(await tempDb(), { migrations: [v1] });
  const insert = "INSERT INTO notes (t) VALUES (?)";
  assert(db.prepare(insert) === db.prepare(insert), "the same SQL gives the compiled statement");
  for (const t of ["a", "b", "c"]) db.prepare(insert).run(t);
  // Two lazy iterations of one query, interleaved: each must see every row once.
  const sql = "SELECT t FROM notes ORDER BY t";
  const outer = db.prepare(sql).iterate();
  const seen: string[] = [];
  for (let r = outer.next(); !r.done; r = outer.next()) {
    const inner = [...db.prepare(sql).iterate()].map((x) => String(x.t));
    assertEquals(inner, ["a", "b", "c"]);
    // A get() on the shared statement in between does not disturb the outer iteration either.
    assertEquals(db.prepare(sql).get()?.t, "a");
    seen.push(String(r.value.t));
  }
  assertEquals(seen, ["a", "b", "c"]);
  db.close();
});

Deno.test("openDatabase: the statement cache is bounded (least recently used goes first)", async () => {
  const { STATEMENT_CACHE_SIZE } = await import("./sqlite.ts");
  const db = openDatabase(await tempDb(), { migrations: [v1] });
  const first = db.prepare("SELECT 0 AS n");
  const kept = db.prepare("SELECT -1 AS n");
  for (let i = 1; i <= STATEMENT_CACHE_SIZE; i++) {
    db.prepare("SELECT -1 AS n"); // used again and again: stays
    db.prepare(`SELECT ${i} AS n`);
  }
  assert(db.prepare("SELECT -1 AS n") === kept, "a statement in use stays compiled");
  assert(db.prepare("SELECT 0 AS n") !== first, "the least recently used one was dropped");
  assertEquals(db.prepare("SELECT 0 AS n").get()?.n, 0);
  db.close();
});

Deno.test("writeTransaction: commits, rolls back on a throw, and holds the lock against another connection", async () => {
  const path = await tempDb();
  const db = openDatabase(path, { migrations: [v1] });
  const other = openDatabase(path, { migrations: [v1] });
  other.exec("PRAGMA busy_timeout = 0");
  try {
    writeTransaction(db, () => db.prepare("INSERT INTO notes (t) VALUES (?)").run("kept"));
    assertThrows(
      () =>
        writeTransaction(db, () => {
          db.prepare("INSERT INTO notes (t) VALUES (?)").run("dropped");
          throw new Error("boom");
        }),
      Error,
      "boom",
    );
    const seen = writeTransaction(db, () => {
      // The other connection cannot take the write lock while this one holds it.
      assertThrows(() => other.exec("BEGIN IMMEDIATE"), Error, "locked");
      return db.prepare("SELECT t FROM notes").all().map((r) => r.t);
    });
    assertEquals(seen, ["kept"]);
  } finally {
    other.close();
    db.close();
  }
});
