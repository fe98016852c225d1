/**
 * Export to JSON lines an auditor can verify offline (`docs/verify_audit.ts`, spec in
 * `docs/audit.md`), and reading such a file back (validated with zod: it is outside input).
 *
 * Line 1 is a header with the signed chain head; every further line is one event, oldest first.
 *
 * @module
 */
import { z } from "zod";
import type { AuditEvent } from "./chain.ts";
import { AUDIT_KINDS } from "./kinds.ts";
import type { AuditLog } from "./log.ts";
import { type ChainHead, ChainVerifier, type VerifyOptions, type VerifyResult } from "./verify.ts";
import { AuditError } from "./errors.ts";
import type { JsonValue } from "./canonical.ts";

/** The `format` value of an export header. */
export const EXPORT_FORMAT = "wirken.audit.export";

const hash = z.string().regex(/^[0-9a-f]{64}$/, "a 64-character lowercase hex hash");

/** Line 1 of an export. */
export const ExportHeaderSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(1),
  exportedAt: z.string(),
  count: z.number().int().nonnegative(),
  head: z.object({
    seq: z.number().int().positive(),
    hash,
    signature: z.string().nullable(),
    publicKey: z.string().nullable(),
  }).nullable(),
});

/** The header of an export. */
export type ExportHeader = z.infer<typeof ExportHeaderSchema>;

const JsonObjectSchema = z.record(z.string(), z.json());

/** One event line of an export. */
export const ExportEventSchema = z.object({
  seq: z.number().int().positive(),
  time: z.string(),
  session: z.string().nullable(),
  agent: z.string().nullable(),
  channel: z.string().nullable(),
  actor: z.string(),
  kind: z.enum(AUDIT_KINDS),
  payload: JsonObjectSchema,
  prevHash: hash,
  hash,
});

/** Where export lines are written (a file, stdout). */
export interface LineSink {
  writeSync(bytes: Uint8Array): number;
}

function writeAll(sink: LineSink, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += sink.writeSync(bytes.subarray(written));
}

/**
 * Writes the whole retained log to `sink` as JSON lines, from one consistent snapshot (the
 * export runs synchronously inside one read transaction). Returns the number of events.
 */
export function exportAuditLog(log: AuditLog, sink: LineSink, now: Date = new Date()): number {
  const db = log.database;
  db.exec("BEGIN");
  try {
    const head = log.head();
    const count = (db.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
    const header: ExportHeader = {
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: now.toISOString(),
      count,
      head,
    };
    writeAll(sink, JSON.stringify(header) + "\n");
    let batch = "";
    let n = 0;
    for (const e of log.iterate()) {
      batch += JSON.stringify(e) + "\n";
      if (++n % 1000 === 0) {
        writeAll(sink, batch);
        batch = "";
      }
    }
    writeAll(sink, batch);
    return n;
  } finally {
    db.exec("COMMIT");
  }
}

/** A parsed export. */
export interface ParsedExport {
  header: ExportHeader;
  events: AuditEvent[];
}

/** Parses export text, naming the line of the first malformed entry. */
export function parseExport(text: string): ParsedExport {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const parseLine = <T>(i: number, schema: z.ZodType<T>): T => {
    let raw: unknown;
    try {
      raw = JSON.parse(lines[i]);
    } catch (e) {
      throw new AuditError(`Line ${i + 1} of the export is not JSON: ${(e as Error).message}`, {
        fix: "Export again with `wirken audit export`; the file was damaged.",
      });
    }
    const r = schema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new AuditError(
        `Line ${i + 1} of the export is malformed: ${
          issue.path.join(".") || "(line)"
        }: ${issue.message}`,
        { fix: "Export again with `wirken audit export`; the file was damaged or edited." },
      );
    }
    return r.data;
  };
  if (lines.length === 0) {
    throw new AuditError("The export is empty.", {
      fix: "Export with `wirken audit export --out <file>`.",
    });
  }
  const header = parseLine(0, ExportHeaderSchema);
  const events: AuditEvent[] = [];
  for (let i = 1; i < lines.length; i++) {
    const e = parseLine(i, ExportEventSchema);
    events.push({ ...e, payload: e.payload as { [key: string]: JsonValue } });
  }
  return { header, events };
}

/** Verifies export text exactly like `audit.db` is verified; adds a failure when lines are missing. */
export function verifyExport(text: string, options: VerifyOptions = {}): VerifyResult {
  const { header, events } = parseExport(text);
  const verifier = new ChainVerifier(options);
  verifier.expectCheckpoints(events.filter((e) => e.kind === "audit.checkpoint"));
  for (const e of events) verifier.push(e);
  const head: ChainHead | null = header.head;
  return verifier.finish(head);
}
