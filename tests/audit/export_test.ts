/**
 * Export and offline verification: the built-in reader and the standalone `docs/verify_audit.ts`
 * (a second implementation of docs/audit.md) agree on good and tampered exports.
 */
import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertFalse,
  assertStringIncludes,
  assertThrows,
} from "../assert.ts";
import { freshLog } from "./helpers.ts";
import { exportAuditLog, parseExport, verifyExport } from "../../src/audit/export.ts";
import { AuditError } from "../../src/audit/errors.ts";
import { describeVerifyResult } from "../../src/audit/verify.ts";

const SCRIPT = new URL("../../docs/verify_audit.ts", import.meta.url).pathname;

async function offline(file: string, key?: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", SCRIPT, file, ...(key ? ["--public-key", key] : [])],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: r.code,
    out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr),
  };
}

async function exported() {
  const t = await freshLog();
  for (let i = 1; i <= 8; i++) {
    await t.log.append({
      kind: "tool.requested",
      actor: "agent",
      session: "s1",
      payload: { tool: "exec", i, note: "é ✓ \u2028" },
    });
  }
  t.clock.advanceDays(100);
  for (let i = 0; i < 4; i++) {
    await t.log.append({ kind: "message.out", actor: "agent", payload: { n: 0.1 * i } });
  }
  t.log.prune({ retentionDays: 90 }); // checkpoint seq 13 covering 1..8
  await t.log.append({ kind: "config.change", actor: "cli" }); // 14
  await t.log.append({ kind: "config.change", actor: "cli" }); // 15
  const file = join(t.path, "..", "audit.jsonl");
  const f = await Deno.open(file, { write: true, create: true });
  const n = exportAuditLog(t.log, f, t.clock.now());
  f.close();
  assertEquals(n, 7);
  return { ...t, file, key: t.log.publicKey! };
}

async function rewrite(file: string, edit: (lines: string[]) => string[]): Promise<void> {
  const lines = (await Deno.readTextFile(file)).split("\n").filter(Boolean);
  await Deno.writeTextFile(file, edit(lines).join("\n") + "\n");
}

Deno.test("export verifies offline with the standalone script and with the built-in reader", async () => {
  const t = await exported();
  try {
    const text = await Deno.readTextFile(t.file);
    const r = verifyExport(text, { trustedKeys: [t.key] });
    assert(r.ok, describeVerifyResult(r));
    assertEquals(r.anchor, { checkpointSeq: 13, throughSeq: 8 });
    const o = await offline(t.file, t.key);
    assertEquals(o.code, 0, o.out);
    assertStringIncludes(o.out, "OK: 7 events verified");
    const unpinned = await offline(t.file);
    assertEquals(unpinned.code, 0, unpinned.out);
    assertStringIncludes(unpinned.out, "not pinned");
  } finally {
    await t.cleanup();
  }
});

const cases: [string, (lines: string[]) => string[], number][] = [
  [
    "edited payload byte",
    (l) => l.map((x, i) => i === 2 ? x.replace('"n":0.1', '"n":0.2') : x),
    10,
  ],
  ["deleted middle line", (l) => l.filter((_, i) => i !== 3), 11],
  ["swapped two lines", (l) => [l[0], l[1], l[3], l[2], ...l.slice(4)], 10],
  ["truncated tail", (l) => l.slice(0, -1), 15],
];

for (const [name, edit, seq] of cases) {
  Deno.test(`tampered export (${name}) fails in both verifiers at seq ${seq}`, async () => {
    const t = await exported();
    try {
      await rewrite(t.file, edit);
      const r = verifyExport(await Deno.readTextFile(t.file), { trustedKeys: [t.key] });
      assertFalse(r.ok);
      assertEquals(r.failures[0].seq, seq, describeVerifyResult(r));
      const o = await offline(t.file, t.key);
      assertEquals(o.code, 1, o.out);
      assertStringIncludes(o.out, `BROKEN at seq ${seq}`);
    } finally {
      await t.cleanup();
    }
  });
}

Deno.test("an export signed by another key fails when the gateway key is pinned", async () => {
  const t = await exported();
  try {
    const other = await exported();
    try {
      const o = await offline(t.file, other.key);
      assertEquals(o.code, 1, o.out);
      assertStringIncludes(o.out, "BROKEN at seq");
      assertFalse(verifyExport(await Deno.readTextFile(t.file), { trustedKeys: [other.key] }).ok);
    } finally {
      await other.cleanup();
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("a malformed export line is named", () => {
  assertThrows(() => parseExport('{"format":"wirken.audit.export"}\n'), AuditError, "Line 1");
  const header = JSON.stringify({
    format: "wirken.audit.export",
    version: 1,
    exportedAt: "x",
    count: 1,
    head: null,
  });
  assertThrows(() => parseExport(`${header}\n{"seq":1}\n`), AuditError, "Line 2");
});
