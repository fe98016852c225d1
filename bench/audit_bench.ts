/**
 * Audit log benchmarks: appends per second (one durable append at a time, group-committed
 * concurrent appends, explicit batches) and verify time per 100k events. Every append is a real
 * `synchronous=FULL` commit on the local disk, with the head signed, as in production.
 *
 * `bench/run.ts` picks this module up and calls {@linkcode run}.
 *
 * @module
 */
import { join } from "node:path";
import { openAuditLog } from "../src/audit/log.ts";
import { generateSigningKey } from "../src/audit/keys.ts";
import type { AuditEventInput } from "../src/audit/types.ts";
import { summarize, type Summary } from "./stats.ts";

/** Sizes of {@linkcode auditBench}; the defaults are what `deno task bench` uses. */
export interface AuditBenchOptions {
  singleAppends?: number;
  groupRounds?: number;
  groupSize?: number;
  batchEvents?: number;
  batchSize?: number;
  verifyEvents?: number;
}

const event = (i: number): AuditEventInput => ({
  kind: "tool.requested",
  actor: "bench",
  session: `s${i % 50}`,
  agent: "default",
  channel: "webchat",
  payload: { tool: "exec", command: `echo ${i}`, cwd: "/workspace/default" },
});

/** Runs the audit benchmarks in a temp dir and returns their figures. */
export async function auditBench(
  o: AuditBenchOptions = {},
): Promise<Record<string, Summary | number>> {
  const dir = await Deno.makeTempDir({ prefix: "wirken-audit-bench-" });
  const signingKey = generateSigningKey();
  try {
    const out: Record<string, Summary | number> = {};
    {
      const log = openAuditLog(join(dir, "single.db"), { signingKey });
      const n = o.singleAppends ?? 500;
      const lat: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const s = performance.now();
        await log.append(event(i));
        lat.push(performance.now() - s);
      }
      out.append_single_per_s = n / ((performance.now() - t0) / 1000);
      out.append_single_ms = summarize(lat);

      // Many rooms appending at once: appends of one tick share a commit.
      const rounds = o.groupRounds ?? 50;
      const size = o.groupSize ?? 100;
      const t1 = performance.now();
      for (let r = 0; r < rounds; r++) {
        await Promise.all(Array.from({ length: size }, (_, i) => log.append(event(i))));
      }
      out.append_group_commit_per_s = (rounds * size) / ((performance.now() - t1) / 1000);
      log.close();
    }
    {
      const log = openAuditLog(join(dir, "batch.db"), { signingKey });
      const total = o.batchEvents ?? 20_000;
      const size = o.batchSize ?? 1_000;
      const t0 = performance.now();
      for (let i = 0; i < total; i += size) {
        await log.appendBatch(Array.from({ length: size }, (_, j) => event(i + j)));
      }
      out.append_batch_per_s = total / ((performance.now() - t0) / 1000);
      log.close();
    }
    {
      const log = openAuditLog(join(dir, "verify.db"), { signingKey });
      const total = o.verifyEvents ?? 100_000;
      for (let i = 0; i < total; i += 1_000) {
        await log.appendBatch(
          Array.from({ length: Math.min(1_000, total - i) }, (_, j) => event(i + j)),
        );
      }
      const t0 = performance.now();
      const r = log.verify();
      const ms = performance.now() - t0;
      if (!r.ok) throw new Error("bench chain does not verify");
      out.verify_ms_per_100k = ms * (100_000 / total);
      log.close();
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Entry point used by `bench/run.ts`. */
export function run(): Promise<Record<string, Summary | number>> {
  return auditBench();
}

if (import.meta.main) {
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(await run(), null, 2) + "\n"));
}
