/** `wirken audit log|verify|prune|export` end to end, through `main.ts` in a child process. */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { FakeClock, tamper, tempDir } from "./helpers.ts";
import { openAuditLog } from "../../src/audit/log.ts";
import { generateSigningKey, signerFromSecret } from "../../src/audit/keys.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const VERIFY_SCRIPT = new URL("../../docs/verify_audit.ts", import.meta.url).pathname;

async function run(
  cmd: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cmd,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const r = await child.output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}

Deno.test("wirken audit: log filters, verify with the vault key, prune, export, tamper detection", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const env = {
      WIRKEN_DATA_DIR: dir,
      WIRKEN_VAULT_BACKEND: "passphrase",
      WIRKEN_VAULT_PASSPHRASE: "audit cli test passphrase",
      NO_COLOR: "1",
    };
    const wirken = (args: string[], stdin?: string) =>
      run(["run", "-A", MAIN, ...args], env, stdin);
    const key = generateSigningKey();
    const publicKey = signerFromSecret(key).publicKey;
    const clock = new FakeClock(Date.now() - 100 * 86_400_000);
    const log = openAuditLog(join(dir, "audit.db"), { signingKey: key, clock: clock.now });
    for (let i = 0; i < 5; i++) {
      await log.append({
        kind: "tool.requested",
        actor: "agent",
        session: "tg:42",
        payload: { tool: "exec", i },
      });
    }
    clock.ms = Date.now();
    await log.append({
      kind: "message.in",
      actor: "u1",
      session: "tg:1",
      payload: { text: "hello" },
    });
    log.close();

    const add = await wirken(["credentials", "add", "audit.signing_key"], key.reveal() + "\n");
    assertEquals(add.code, 0, add.err);

    const v = await wirken(["audit", "verify", "--json"]);
    assertEquals(v.code, 0, v.err);
    const vj = JSON.parse(v.out);
    assertEquals([vj.ok, vj.checked, vj.keySource, vj.publicKey, vj.keyPinned], [
      true,
      6,
      "vault",
      publicKey,
      true,
    ]);

    const l = await wirken(["audit", "log", "--kind", "tool.requested", "--json"]);
    assertEquals(JSON.parse(l.out).events.map((e: { seq: number }) => e.seq), [1, 2, 3, 4, 5]);
    const l2 = await wirken(["audit", "log", "--session", "tg:1", "--since", "24h"]);
    assertStringIncludes(l2.out, "hello");
    assert(!l2.out.includes("tool.requested"));
    const bad = await wirken(["audit", "log", "--kind", "nope"]);
    assertEquals(bad.code, 2);

    const p = await wirken(["audit", "prune", "--json"]);
    assertEquals(p.code, 0, p.err);
    const pj = JSON.parse(p.out);
    assertEquals([pj.pruned, pj.throughSeq, pj.checkpointSeq], [5, 5, 7]);
    const v2 = await wirken(["audit", "verify"]);
    assertEquals(v2.code, 0, v2.out + v2.err);
    assertStringIncludes(v2.out, "anchored by signed checkpoint seq 7");

    const file = join(dir, "audit.jsonl");
    const x = await wirken(["audit", "export", "--out", file]);
    assertEquals(x.code, 0, x.err);
    const off = await run(
      ["run", "--allow-read", VERIFY_SCRIPT, file, "--public-key", publicKey],
      {},
    );
    assertEquals(off.code, 0, off.out);
    const vf = await wirken(["audit", "verify", "--file", file, "--public-key", publicKey]);
    assertEquals(vf.code, 0, vf.out + vf.err);

    tamper(join(dir, "audit.db"), `UPDATE events SET payload = '{"text":"bye"}' WHERE seq = 6`);
    const v3 = await wirken(["audit", "verify"]);
    assertEquals(v3.code, 1);
    assertStringIncludes(v3.out, "BROKEN at seq 6");
  } finally {
    await cleanup();
  }
});
