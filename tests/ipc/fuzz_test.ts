/**
 * A bounded-time mutation fuzzer over valid frames. Every mutant must either decode to a frame
 * that re-encodes to itself, or be rejected with FrameError, quickly; nothing else may escape.
 * Then a live server takes a stream of mutants and must keep serving the good adapter.
 *
 * Seeded (WIRKEN_FUZZ_SEED) so a failure can be replayed; time-boxed (WIRKEN_FUZZ_MS, default
 * 2000 ms for the codec, 200 connections for the socket).
 */
import { assert, assertEquals } from "../assert.ts";
import { decodeFrame, encodeFrame, type Frame } from "../../src/ipc/codec.ts";
import { FrameError } from "../../src/ipc/errors.ts";
import { lengthPrefixed } from "../../src/ipc/framing.ts";
import { openSession } from "../../src/ipc/session.ts";
import { sampleFrames } from "../../src/ipc/testing.ts";
import { connectGateway } from "../../src/ipc/client.ts";
import { captureLogger, rawHandshake, rawPeer, startTestGateway } from "./helpers.ts";

const SEED = Number(Deno.env.get("WIRKEN_FUZZ_SEED") ?? Date.now() % 2 ** 31);
const BUDGET_MS = Number(Deno.env.get("WIRKEN_FUZZ_MS") ?? 2000);

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

function mutate(seed: Uint8Array, other: Uint8Array, r: () => number): Uint8Array {
  let b = seed.slice();
  const int = (n: number) => Math.floor(r() * n);
  const rounds = 1 + int(4);
  for (let i = 0; i < rounds; i++) {
    switch (int(8)) {
      case 0: // bit flip
        if (b.length) b[int(b.length)] ^= 1 << int(8);
        break;
      case 1: // interesting byte
        if (b.length) b[int(b.length)] = INTERESTING[int(INTERESTING.length)];
        break;
      case 2: // random 32-bit word (pointer fields are 32-bit halves)
        if (b.length >= 4) {
          const at = int(b.length - 3) & ~3;
          new DataView(b.buffer).setUint32(at, Math.floor(r() * 2 ** 32), true);
        }
        break;
      case 3: // truncate
        b = b.slice(0, int(b.length + 1));
        break;
      case 4: // append random bytes
        b = new Uint8Array([...b, ...Array.from({ length: 1 + int(32) }, () => int(256))]);
        break;
      case 5: // duplicate an 8-byte word elsewhere (pointer aliasing)
        if (b.length >= 16) {
          const from = int(b.length / 8) * 8;
          const to = int(b.length / 8) * 8;
          b.copyWithin(to, from, Math.min(from + 8, b.length));
        }
        break;
      case 6: // splice with another frame
        b = new Uint8Array([...b.slice(0, int(b.length)), ...other.slice(int(other.length))]);
        break;
      default: // segment table tamper
        if (b.length >= 8) new DataView(b.buffer).setUint32(int(2) * 4, int(2 ** 16), true);
    }
  }
  return b;
}

Deno.test(`fuzz: mutated frames decode or fail with FrameError (seed ${SEED})`, () => {
  const r = rng(SEED);
  const seeds = sampleFrames().map(encodeFrame);
  const until = Date.now() + BUDGET_MS;
  let runs = 0;
  let accepted = 0;
  let slowest = 0;
  while (Date.now() < until) {
    const mutant = mutate(seeds[runs % seeds.length], seeds[(runs * 7 + 3) % seeds.length], r);
    runs++;
    const t0 = performance.now();
    let frame: Frame | null = null;
    try {
      frame = decodeFrame(mutant);
    } catch (e) {
      if (!(e instanceof FrameError)) {
        throw new Error(`seed ${SEED} run ${runs}: ${e} escaped as ${(e as Error)?.name}`);
      }
    }
    slowest = Math.max(slowest, performance.now() - t0);
    if (frame) {
      accepted++;
      // Whatever is accepted must be a real frame that survives its own round trip.
      assertEquals(decodeFrame(encodeFrame(frame)), frame, `seed ${SEED} run ${runs}`);
    }
  }
  assert(runs > 1000, `only ${runs} runs`);
  assert(slowest < 250, `a mutant took ${slowest.toFixed(1)} ms to decode (seed ${SEED})`);
  // Printed so a run's coverage is visible in CI logs.
  // deno-lint-ignore no-console
  console.log(
    `fuzz: seed ${SEED}, ${runs} mutants, ${accepted} accepted, slowest ${slowest.toFixed(2)} ms`,
  );
});

Deno.test(`fuzz: a live server survives a stream of mutants (seed ${SEED})`, async () => {
  const gw = await startTestGateway(["telegram", "slack"]);
  const { log } = captureLogger();
  const good = await connectGateway(
    {
      socketPath: gw.socketPath,
      channel: "telegram",
      signer: gw.ids.telegram.signer,
      gatewayPublicKey: gw.server.gatewayPublicKey,
      log,
    },
    { onOutbound: () => Promise.resolve({ ok: true, messageId: "ok", error: "" }) },
  );
  try {
    const r = rng(SEED + 1);
    const seeds = sampleFrames().map(encodeFrame);
    for (let i = 0; i < 200; i++) {
      const peer = await rawPeer(gw.socketPath);
      if (i % 2 === 0) {
        // Authenticated as slack, then mutants until the gateway hangs up.
        const { result } = await rawHandshake(peer, gw.ids.slack);
        assert(result?.type === "authResult" && result.ok);
      } else {
        await peer.reader.next(); // the challenge
      }
      for (let j = 0; j < 5; j++) {
        const m = mutate(seeds[(i + j) % seeds.length], seeds[j % seeds.length], r);
        await peer.writer.writeRaw(lengthPrefixed(m)).catch(() => {});
      }
      peer.close();
    }
    const result = await gw.server.send(openSession("telegram", "c"), { text: "still up?" });
    assertEquals(result.messageId, "ok");
  } finally {
    good.close();
    await gw.close();
  }
});
