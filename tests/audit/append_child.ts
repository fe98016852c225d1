/**
 * Child process of the crash test: appends to the audit log as fast as it can and prints
 * `<seq> <actor>` on stdout for every append that has resolved (been acknowledged as durable).
 *
 * Usage: deno run -A tests/audit/append_child.ts <audit.db> <run id>   (key in AUDIT_TEST_KEY)
 */
import { openAuditLog } from "../../src/audit/log.ts";
import { Secret } from "../../src/secret.ts";

const [path, run] = Deno.args;
const key = Deno.env.get("AUDIT_TEST_KEY");
const log = openAuditLog(path, { signingKey: key ? new Secret(key) : undefined });
const encoder = new TextEncoder();
let n = 0;
for (;;) {
  // Alternate single appends with bursts, so both the plain and the group-commit path are hit.
  const burst = n % 3 === 0 ? 8 : 1;
  const actors = Array.from({ length: burst }, () => `${run}-${n++}`);
  const seqs = await Promise.all(
    actors.map((actor) =>
      log.append({ kind: "tool.requested", actor, payload: { n, pad: "x".repeat(200) } })
    ),
  );
  // Written synchronously (unbuffered), only after the append resolved.
  Deno.stdout.writeSync(encoder.encode(seqs.map((s, i) => `${s} ${actors[i]}\n`).join("")));
}
