/**
 * kill -9 while appending: real child processes append as fast as they can and are killed with
 * SIGKILL at random moments; afterwards the chain verifies and every acknowledged event is there.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir } from "./helpers.ts";
import { generateSigningKey, signerFromSecret } from "../../src/audit/keys.ts";
import { openAuditLog } from "../../src/audit/log.ts";
import { describeVerifyResult } from "../../src/audit/verify.ts";
import { Secret } from "../../src/secret.ts";

const CHILD = new URL("./append_child.ts", import.meta.url).pathname;

async function runAndKill(
  path: string,
  run: string,
  key: string,
  killAfterMs: number,
): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", CHILD, path, run],
    env: { AUDIT_TEST_KEY: key },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const chunks: Uint8Array[] = [];
  let started: number | undefined;
  let killed = false;
  const decoder = new TextDecoder();
  // Kill only once the child has acknowledged something, so every round really kills mid-write.
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      chunks.push(value);
      if (started === undefined) {
        started = Date.now();
        setTimeout(() => {
          killed = true;
          child.kill("SIGKILL");
        }, killAfterMs);
      }
    }
  })();
  const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
    pump,
  ]).then((
    [s, e],
  ) => [s, e] as const);
  clearTimeout(guard);
  assert(killed, `child ended before being killed: ${stderr}`);
  assertEquals(status.signal, "SIGKILL");
  return chunks.map((c) => decoder.decode(c, { stream: true })).join("");
}

Deno.test("kill -9 in a loop while appending: the chain verifies and no acknowledged event is missing", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "audit.db");
    const key = generateSigningKey();
    const acked = new Map<number, string>();
    for (let round = 0; round < 6; round++) {
      const out = await runAndKill(
        path,
        `r${round}`,
        key.reveal(),
        50 + Math.floor(Math.random() * 250),
      );
      // A line cut by the kill is not an acknowledgement; only complete lines count.
      for (const line of out.split("\n").slice(0, -1)) {
        const [seq, actor] = line.split(" ");
        assert(!acked.has(Number(seq)), `seq ${seq} acknowledged twice`);
        acked.set(Number(seq), actor);
      }
    }
    assert(acked.size > 50, `only ${acked.size} acknowledged appends`);
    const log = openAuditLog(path, { signingKey: new Secret(key.reveal()) });
    try {
      const r = log.verify({ trustedKeys: [signerFromSecret(key).publicKey] });
      assert(r.ok, describeVerifyResult(r));
      const stored = new Map<number, string>();
      for (const e of log.iterate()) stored.set(e.seq, e.actor);
      for (const [seq, actor] of acked) {
        assertEquals(
          stored.get(seq),
          actor,
          `acknowledged seq ${seq} (${actor}) is missing or different`,
        );
      }
      // The log keeps working after the crashes.
      const next = await log.append({ kind: "adapter.start", actor: "gateway" });
      assertEquals(next, (r.lastSeq ?? 0) + 1);
    } finally {
      log.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("verify while another process appends never reports a false break", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "audit.db");
    const key = generateSigningKey();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", CHILD, path, "v"],
      env: { AUDIT_TEST_KEY: key.reveal() },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read(); // the child has appended at least once
    const log = openAuditLog(path);
    try {
      let lastSeq = 0;
      for (let i = 0; i < 15; i++) {
        const r = log.verify({ trustedKeys: [signerFromSecret(key).publicKey] });
        assert(r.ok, describeVerifyResult(r));
        assert((r.lastSeq ?? 0) >= lastSeq);
        lastSeq = r.lastSeq ?? 0;
        await new Promise((res) => setTimeout(res, 20));
      }
    } finally {
      log.close();
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel();
    }
  } finally {
    await cleanup();
  }
});
