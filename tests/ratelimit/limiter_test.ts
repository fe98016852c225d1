import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { type RateDecision, RateLimiter } from "../../src/ratelimit/limiter.ts";
import { openSqliteBucketState } from "../../src/ratelimit/sqlite_state.ts";

const limits = { sender: { perMinute: 3 }, channel: { perMinute: 5 }, global: { perMinute: 8 } };

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

Deno.test("ratelimit: per sender; loopback WebChat is limited like any channel", () => {
  const c = clock();
  const rl = new RateLimiter(limits, undefined, c.now);
  const local = { channel: "webchat", sender: "127.0.0.1" };
  assertEquals([1, 2, 3].map(() => rl.check(local).allowed), [true, true, true]);
  const refused = rl.check(local) as Extract<RateDecision, { allowed: false }>;
  assertEquals(refused.allowed, false);
  assertEquals(refused.scope, "sender");
  assertEquals(refused.retryAfterMs, 20_000);
  assertStringIncludes(refused.message, "Please wait 20 seconds");
  // Another sender on the same channel still gets through.
  assert(rl.check({ channel: "webchat", sender: "other" }).allowed);
  // Tokens come back with time.
  c.advance(20_000);
  assert(rl.check(local).allowed);
  assertEquals(rl.check(local).allowed, false);
});

Deno.test("ratelimit: per channel and global; a refusal costs no tokens", () => {
  const c = clock();
  const rl = new RateLimiter(limits, undefined, c.now);
  for (let i = 0; i < 5; i++) assert(rl.check({ channel: "telegram", sender: `u${i}` }).allowed);
  const ch = rl.check({ channel: "telegram", sender: "u9" });
  assert(!ch.allowed && ch.scope === "channel");
  for (let i = 0; i < 3; i++) assert(rl.check({ channel: "discord", sender: `d${i}` }).allowed);
  const g = rl.check({ channel: "slack", sender: "s" });
  assert(!g.allowed && g.scope === "global", JSON.stringify(g));
  assertStringIncludes(g.message, "many messages");
  // The refused slack message did not spend slack's channel or sender token.
  c.advance(7_500); // one global token back (8/min)
  assert(rl.check({ channel: "slack", sender: "s" }).allowed);
});

Deno.test("ratelimit: SQLite state is shared between processes (successive `wirken ask`)", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sessions.db");
  try {
    const one = {
      sender: { perMinute: 2 },
      channel: { perMinute: 100 },
      global: { perMinute: 100 },
    };
    const cli = { channel: "cli", sender: "local" };
    for (let run = 0; run < 2; run++) {
      // Each "run" opens its own connection, as a new process would.
      const state = openSqliteBucketState(path);
      assert(new RateLimiter(one, state).check(cli).allowed, `run ${run}`);
      state.close();
    }
    const state = openSqliteBucketState(path);
    const third = new RateLimiter(one, state).check(cli);
    state.close();
    assertEquals(third.allowed, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
