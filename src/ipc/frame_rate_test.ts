import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { DEFAULT_FRAME_RATE, FrameRateLimiter, type FrameVerdict } from "./frame_rate.ts";

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function count(verdicts: FrameVerdict[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of verdicts) out[v.action] = (out[v.action] ?? 0) + 1;
  return out;
}

Deno.test("a burst up to the bucket size passes untouched", () => {
  const c = clock();
  const r = new FrameRateLimiter({ burst: 10, perSecond: 5, cutAfter: 20 }, c.now);
  assertEquals(count(Array.from({ length: 10 }, () => r.admit())), { pass: 10 });
  assertEquals(r.admit().action, "wait");
});

Deno.test("past the burst a frame waits exactly for its token", () => {
  const c = clock();
  const r = new FrameRateLimiter({ burst: 2, perSecond: 10, cutAfter: 100 }, c.now);
  r.admit();
  r.admit();
  assertEquals(r.admit(), { action: "wait", ms: 100 });
  // Nobody waited: the debt grows, and so does the wait.
  assertEquals(r.admit(), { action: "wait", ms: 200 });
  // After paying the debt off the next frame waits one token's time again.
  c.advance(200);
  assertEquals(r.admit(), { action: "wait", ms: 100 });
});

Deno.test("a flooder held to the sustained rate is cut after cutAfter excess frames", () => {
  const c = clock();
  const r = new FrameRateLimiter({ burst: 50, perSecond: 100, cutAfter: 30 }, c.now);
  const verdicts: FrameVerdict[] = [];
  for (let i = 0; i < 1000; i++) {
    const v = r.admit();
    verdicts.push(v);
    if (v.action === "cut") break;
    // The flooder always has the next frame ready; the server waits as told (a bit late, as
    // timers are).
    if (v.action === "wait") c.advance(v.ms + 1);
  }
  const last = verdicts.at(-1)!;
  assertEquals(last.action, "cut");
  if (last.action === "cut") {
    assertEquals(last.reason.startsWith("frame rate over limit: 30 frames in a row"), true);
  }
  assertEquals(count(verdicts), { pass: 50, wait: 29, cut: 1 });
});

Deno.test("bursts separated by quiet time are never cut, however many there are", () => {
  const c = clock();
  const r = new FrameRateLimiter({ burst: 50, perSecond: 100, cutAfter: 30 }, c.now);
  const verdicts: FrameVerdict[] = [];
  for (let burst = 0; burst < 100; burst++) {
    // 70 frames: 20 over the bucket each time, fewer than cutAfter.
    for (let i = 0; i < 70; i++) {
      const v = r.admit();
      verdicts.push(v);
      if (v.action === "wait") c.advance(v.ms);
    }
    c.advance(1000); // a second of quiet refills the bucket
  }
  assertEquals(count(verdicts).cut, undefined);
});

Deno.test("steady traffic under the rate always passes", () => {
  const c = clock();
  const r = new FrameRateLimiter({ burst: 5, perSecond: 100, cutAfter: 3 }, c.now);
  const verdicts = Array.from({ length: 10_000 }, () => {
    c.advance(11); // ~91 frames a second
    return r.admit();
  });
  assertEquals(count(verdicts), { pass: 10_000 });
  assertEquals(r.frames, 10_000);
});

Deno.test("traffic just over the rate for long is sustained excess and is cut", () => {
  const c = clock();
  const r = new FrameRateLimiter({ burst: 100, perSecond: 100, cutAfter: 200 }, c.now);
  let cut: FrameVerdict | undefined;
  for (let i = 0; i < 100_000 && !cut; i++) {
    c.advance(9); // ~111 frames a second, only 11% over
    const v = r.admit();
    if (v.action === "cut") cut = v;
    else if (v.action === "wait") c.advance(v.ms);
  }
  assertEquals(cut?.action, "cut");
});

Deno.test("the defaults are generous for real traffic and the limits are checked", () => {
  assertEquals(DEFAULT_FRAME_RATE.burst >= 1000, true);
  assertEquals(DEFAULT_FRAME_RATE.perSecond >= 100, true);
  assertThrows(() => new FrameRateLimiter({ burst: 0, perSecond: 1, cutAfter: 1 }), RangeError);
  assertThrows(() => new FrameRateLimiter({ burst: 1, perSecond: 0, cutAfter: 1 }), RangeError);
  assertThrows(() => new FrameRateLimiter({ burst: 1, perSecond: 1, cutAfter: 0 }), RangeError);
});
