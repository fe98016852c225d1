/**
 * SIEM forwarding against fake Datadog / Splunk / webhook servers on loopback: outages, 500s
 * and 429s, a gateway restart, rejected batches that must be held (not skipped) and lag.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { FakeClock, MemoryCredentials, tempDir } from "./helpers.ts";
import { type FakeKind, FakeSiem, waitFor } from "./fake_siem.ts";
import { type AuditLog, openAuditLog } from "../../src/audit/log.ts";
import { generateSigningKey } from "../../src/audit/keys.ts";
import { type SiemForwarderOptions, startSiemForwarder } from "../../src/siem/forwarder.ts";
import { SiemError } from "../../src/siem/errors.ts";
import { Secret } from "../../src/secret.ts";
import { credentialNames } from "../../src/vault/types.ts";

const FAST = {
  baseDelayMs: 5,
  maxDelayMs: 40,
  holdRetryMs: 60,
  pollMs: 50,
  lingerMs: 5,
  requestTimeoutMs: 2_000,
  stopTimeoutMs: 3_000,
};

function destFor(f: FakeSiem, name: string, batchSize = 7) {
  return { name, kind: f.kind, url: f.url, batchSize };
}

function credsFor(fakes: Record<string, FakeSiem>): MemoryCredentials {
  const c = new MemoryCredentials();
  for (const [name, f] of Object.entries(fakes)) {
    const what = f.kind === "datadog" ? "api_key" : f.kind === "splunk" ? "token" : "hmac_secret";
    c.set(credentialNames.siemKey(name, what), new Secret(f.key));
  }
  return c;
}

async function appendN(log: AuditLog, n: number, from: number): Promise<void> {
  // Bursts, so batching and group commit are both exercised.
  await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        log.append({ kind: "tool.requested", actor: `a${from + i}`, payload: { i: from + i } }),
    ),
  );
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

Deno.test("SIEM: outages, 500s and 429s, a restart: every event arrives exactly once, in order, at every destination", async () => {
  const { dir, cleanup } = await tempDir();
  const fakes: Record<string, FakeSiem> = {
    dd: new FakeSiem("datadog", "dd-key-1"),
    splunk: new FakeSiem("splunk", "hec-token-1"),
    hook: new FakeSiem("webhook", "hmac-secret-1"),
  };
  for (const f of Object.values(fakes)) f.up();
  fakes.dd.plan = [500, { status: 429, headers: { "retry-after": "0" } }, 503];
  fakes.splunk.plan = [429, 500, 502];
  fakes.hook.plan = [500];
  const path = join(dir, "audit.db");
  const key = generateSigningKey();
  const credentials = credsFor(fakes);
  const destinations = Object.entries(fakes).map(([n, f]) => destFor(f, n));
  let log = openAuditLog(path, { signingKey: key });
  const opts = (l: AuditLog): SiemForwarderOptions => ({
    log: l,
    destinations,
    credentials,
    tuning: FAST,
    hostname: "gw",
  });
  let fwd = startSiemForwarder(opts(log));
  try {
    await appendN(log, 25, 1);
    // The webhook receiver goes down for a while; events keep coming.
    await waitFor(() => fakes.hook.accepted.length > 0, "first webhook delivery");
    await fakes.hook.down();
    await appendN(log, 15, 26);
    await new Promise((r) => setTimeout(r, 150));
    fakes.hook.up();
    await appendN(log, 10, 41);
    await waitFor(
      () => Object.values(fakes).every((f) => f.accepted.length >= 20),
      "partial delivery",
    );

    // Gateway restart: stop the forwarder, close and reopen the log, start again.
    await fwd.stop();
    log.close();
    log = openAuditLog(path, { signingKey: key });
    fwd = startSiemForwarder(opts(log));
    await appendN(log, 20, 51);
    fakes.dd.plan = [500, 500];
    await appendN(log, 10, 71);
    await waitFor(
      () => Object.values(fakes).every((f) => f.accepted.length >= 80),
      "all 80 events at every destination",
    );
    await new Promise((r) => setTimeout(r, 100)); // nothing more should arrive
    for (const [name, f] of Object.entries(fakes)) {
      assertEquals(f.problems, [], `${name} saw malformed requests`);
      assertEquals(
        f.accepted,
        range(1, 80),
        `${name} did not get each event exactly once in order`,
      );
    }
    assert(fakes.dd.requests > 80 / 7, "datadog was batched and retried");
    for (const s of fwd.status()) {
      assertEquals([s.name, s.state, s.deliveredSeq, s.lagEvents], [s.name, "ok", 80, 0]);
    }
  } finally {
    await fwd.stop();
    log.close();
    for (const f of Object.values(fakes)) await f.down();
    await cleanup();
  }
});

Deno.test("SIEM: a 4xx that retrying cannot fix holds the destination (cursor kept, status loud, pruning held) until fixed", async () => {
  const { dir, cleanup } = await tempDir();
  const fake = new FakeSiem("datadog", "right-key");
  fake.up();
  const clock = new FakeClock();
  const log = openAuditLog(join(dir, "audit.db"), {
    signingKey: generateSigningKey(),
    clock: clock.now,
  });
  const credentials = new MemoryCredentials({ "siem.dd.api_key": "wrong-key" });
  const records: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn() {},
    error: (m: string) => records.push(m),
    child() {
      return logger;
    },
    close() {},
  };
  const fwd = startSiemForwarder({
    log,
    destinations: [destFor(fake, "dd")],
    credentials,
    tuning: FAST,
    logger,
    clock: clock.now,
  });
  try {
    await appendN(log, 5, 1);
    await waitFor(() => fwd.status()[0].state === "held", "held state");
    const s = fwd.status()[0];
    assertEquals(s.deliveredSeq, 0);
    assertEquals(s.lagEvents, 5);
    assertStringIncludes(s.lastError ?? "", "HTTP 400");
    assert(records.some((m) => m.includes("HELD")), "held is logged as an error");
    assertEquals(fake.accepted, []);
    // The wrong key made the fake answer 400 and record a problem; clear it for the rest.
    fake.problems.length = 0;

    // Old events a held destination has not received are not pruned.
    clock.advanceDays(100);
    await appendN(log, 1, 6);
    const pr = log.prune({ retentionDays: 90, keepAfter: fwd.keepAfter() });
    assertEquals(pr.pruned, 0);
    assertEquals(pr.heldBy, "siem:dd");
    assertEquals(fwd.status()[0].lagSeconds, 100 * 86400);

    // Fixing the key in the vault resumes delivery at the held batch.
    credentials.set("siem.dd.api_key", new Secret("right-key"));
    await waitFor(() => fake.accepted.length === 6, "delivery after the fix");
    assertEquals(fake.accepted, range(1, 6));
    await waitFor(() => fwd.status()[0].state === "ok", "ok state");
    assertEquals(fake.problems, []);
  } finally {
    await fwd.stop();
    log.close();
    await fake.down();
    await cleanup();
  }
});

Deno.test("SIEM: a missing credential holds, 413 halves the batch, and nothing is skipped", async () => {
  const { dir, cleanup } = await tempDir();
  const fake = new FakeSiem("splunk", "tok");
  fake.up();
  // Accept at most 3 events per request, like a receiver with a small body limit.
  fake.judge = (seqs) => (seqs.length > 3 ? 413 : undefined);
  const log = openAuditLog(join(dir, "audit.db"));
  const credentials = new MemoryCredentials();
  const fwd = startSiemForwarder({
    log,
    destinations: [destFor(fake, "sp", 20)],
    credentials,
    tuning: FAST,
  });
  try {
    await appendN(log, 12, 1);
    await waitFor(() => fwd.status()[0].state === "held", "held for missing credential");
    assertStringIncludes(fwd.status()[0].lastError ?? "", "siem.sp.token");
    credentials.set("siem.sp.token", new Secret("tok"));
    await waitFor(() => fake.accepted.length === 12, "all 12 delivered");
    assertEquals(fake.accepted, range(1, 12));
    assertEquals(fake.problems, []);
  } finally {
    await fwd.stop();
    log.close();
    await fake.down();
    await cleanup();
  }
});

Deno.test("SIEM: plain http to another host is refused at start", async () => {
  const { dir, cleanup } = await tempDir();
  const log = openAuditLog(join(dir, "audit.db"));
  try {
    for (const kind of ["datadog", "splunk", "webhook"] as FakeKind[]) {
      await assertRejects(
        () =>
          Promise.resolve().then(() =>
            startSiemForwarder({
              log,
              destinations: [{ name: "x", kind, url: "http://siem.example.com/in" }],
              credentials: new MemoryCredentials(),
            })
          ),
        SiemError,
        "Refusing",
      );
    }
  } finally {
    log.close();
    await cleanup();
  }
});

Deno.test("SIEM: kill -9 of the gateway mid-delivery loses nothing; a re-sent batch is recognisable by seq", async () => {
  const { dir, cleanup } = await tempDir();
  const fake = new FakeSiem("webhook", "crash-secret");
  fake.up();
  // Slow answers, so the kill lands while requests are in flight.
  fake.delayMs = 15;
  const path = join(dir, "audit.db");
  const child = (count: number) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./forward_child.ts", import.meta.url).pathname,
        path,
        fake.url,
        String(count),
      ],
      env: { HOOK_SECRET: "crash-secret" },
      stdout: "null",
      stderr: "null",
    }).spawn();
  try {
    const first = child(200);
    await waitFor(() => fake.accepted.length >= 30, "some deliveries before the kill", 20_000);
    first.kill("SIGKILL");
    await first.status;
    const delivered = fake.accepted.length;
    assert(delivered < 200, "killed before finishing");
    const second = child(0);
    try {
      await waitFor(() => new Set(fake.accepted).size === 200, "all 200 after the restart", 20_000);
    } finally {
      second.kill("SIGKILL");
      await second.status;
    }
    // At least once, in order: dropping repeats (same seq) leaves exactly 1..200 in order, and
    // a repeat can only be the one batch in flight at the kill.
    const firstSeen = fake.accepted.filter((s, i) => fake.accepted.indexOf(s) === i);
    assertEquals(firstSeen, range(1, 200));
    assert(fake.accepted.length - 200 <= 3, `too many repeats: ${fake.accepted.length - 200}`);
    assertEquals(fake.problems, []);
  } finally {
    await fake.down();
    await cleanup();
  }
});
