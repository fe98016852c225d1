/**
 * The IPC server and client over a real Unix socket: the happy path, and each attack of the
 * issue's acceptance list as its own test. After every attack the good adapter must still work.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { connectGateway, type IpcClient } from "../../src/ipc/client.ts";
import { encodeFrame } from "../../src/ipc/codec.ts";
import { lengthPrefixed } from "../../src/ipc/framing.ts";
import { MAX_FRAME_BYTES } from "../../src/ipc/limits.ts";
import { openSession } from "../../src/ipc/session.ts";
import { messageFromWords, structPtr, type Word } from "../../src/ipc/testing.ts";
import {
  captureLogger,
  type Identity,
  rawHandshake,
  rawPeer,
  startTestGateway,
  type TestGateway,
  waitFor,
} from "./helpers.ts";

async function goodAdapter(gw: TestGateway, id: Identity = gw.ids.telegram): Promise<IpcClient> {
  const { log } = captureLogger();
  return await connectGateway({
    socketPath: gw.socketPath,
    channel: id.channel,
    signer: id.signer,
    gatewayPublicKey: gw.server.gatewayPublicKey,
    log,
  }, {
    onOutbound: (m) => Promise.resolve({ ok: true, messageId: `sent:${m.text}`, error: "" }),
  });
}

/** Proves the gateway still serves the good adapter: inbound in, outbound out. */
async function stillWorks(gw: TestGateway): Promise<void> {
  const client = await goodAdapter(gw);
  try {
    const before = gw.inbound.length;
    await client.sendInbound({ id: "x", senderId: "u", conversationId: "c9", text: "ping" });
    // Another adapter may be flooding meanwhile: look for this frame, not the next one.
    const ping = () => gw.inbound.slice(before).find((e) => e.message.text === "ping");
    await waitFor(() => ping() !== undefined, 5000, "the good adapter's inbound");
    assertEquals(ping()?.channel, "telegram");
    const result = await gw.server.send(openSession("telegram", "c9"), { text: "pong" });
    assertEquals(result, { ok: true, messageId: "sent:pong", error: "" });
  } finally {
    client.close();
  }
}

Deno.test("a test adapter connects, authenticates, sends inbound and receives outbound", async () => {
  const gw = await startTestGateway();
  try {
    const info = await Deno.stat(gw.socketPath);
    assertEquals((info.mode ?? 0) & 0o777, 0o600);
    assertEquals((await Deno.stat(`${gw.dir}/sockets`)).mode! & 0o777, 0o700);
    const received: string[] = [];
    const { log } = captureLogger();
    const id = gw.ids.telegram;
    const client = await connectGateway(
      {
        socketPath: gw.socketPath,
        channel: "telegram",
        signer: id.signer,
        gatewayPublicKey: gw.server.gatewayPublicKey,
        log,
      },
      {
        onOutbound: (m) => {
          received.push(`${m.conversationId}:${m.text}:${m.replyToId}`);
          return Promise.resolve({ ok: true, messageId: "m-2", error: "" });
        },
      },
    );
    await client.sendInbound({
      id: "m-1",
      senderId: "u-1",
      senderName: "Ada",
      conversationId: "chat-1",
      text: "hello",
      metadata: { k: "v" },
    });
    await gw.waitInbound(1);
    const ev = gw.inbound[0];
    assertEquals(ev.channel, "telegram");
    assertEquals(ev.message.text, "hello");
    assertEquals(ev.message.metadata, { k: "v" });
    assertEquals(ev.handle.key, "telegram:chat-1");
    if (ev.channel !== "telegram") throw new Error("narrowing");
    const result = await ev.link.send(ev.handle, { text: "hi back", replyToId: "m-1" });
    assertEquals(result, { ok: true, messageId: "m-2", error: "" });
    assertEquals(received, ["chat-1:hi back:m-1"]);
    assert(gw.server.connected("telegram"));
    assert(gw.audit.events.some((e) => e.kind === "auth.success" && e.channel === "telegram"));
    client.close();
    await waitFor(() => !gw.server.connected("telegram"));
  } finally {
    await gw.close();
  }
});

Deno.test("inbound frames are stamped with the authenticated channel, not the payload's", async () => {
  const gw = await startTestGateway();
  try {
    const peer = await rawPeer(gw.socketPath);
    const { result } = await rawHandshake(peer, gw.ids.telegram);
    assert(result?.type === "authResult" && result.ok);
    await peer.writer.write({
      type: "inbound",
      id: "1",
      channel: "slack",
      senderId: "u",
      senderName: "",
      conversationId: "c",
      text: "I am slack, honest",
      timestamp: 0,
      isGroup: false,
      replyToId: "",
      attachments: [],
      metadata: {},
    });
    await gw.waitInbound(1);
    assertEquals(gw.inbound[0].channel, "telegram");
    assertEquals(gw.inbound[0].message.channel, "telegram");
    assertEquals(gw.inbound[0].handle.channel, "telegram");
    peer.close();
  } finally {
    await gw.close();
  }
});

Deno.test("attack: wrong key is rejected and audited", async () => {
  const gw = await startTestGateway();
  try {
    const { identity } = await import("./helpers.ts");
    const impostor = await identity("telegram");
    const peer = await rawPeer(gw.socketPath);
    const { result } = await rawHandshake(peer, impostor);
    assert(result?.type === "authResult" && !result.ok);
    assertStringIncludes(result.reason, "public key does not match");
    assert(await peer.closedByGateway());
    assert(gw.audit.events.some((e) => e.kind === "auth.failure" && e.actor === "telegram"));
    assert(!gw.server.connected("telegram"));
    await stillWorks(gw);
  } finally {
    await gw.close();
  }
});

Deno.test("attack: a valid signature over another nonce (replay) is rejected", async () => {
  const gw = await startTestGateway();
  try {
    const first = await rawPeer(gw.socketPath);
    const { response, result } = await rawHandshake(first, gw.ids.telegram);
    assert(result?.type === "authResult" && result.ok);
    first.close();
    // Present the recorded response (signed over the first connection's nonce) again.
    const second = await rawPeer(gw.socketPath);
    await second.reader.next();
    await second.writer.write(response);
    const answer = await second.reader.next();
    assert(answer?.type === "authResult" && !answer.ok);
    assertEquals(answer.reason, "bad signature for telegram");
    assert(await second.closedByGateway());
    await stillWorks(gw);
  } finally {
    await gw.close();
  }
});

Deno.test("attack: a signature made for another adapterId is rejected", async () => {
  const gw = await startTestGateway();
  try {
    const peer = await rawPeer(gw.socketPath);
    // The Telegram key signs a message naming slack, but claims telegram.
    const { result } = await rawHandshake(peer, gw.ids.telegram, { signedId: "slack" });
    assert(result?.type === "authResult" && !result.ok);
    assertEquals(result.reason, "bad signature for telegram");
    // The Telegram key claiming to be slack.
    const peer2 = await rawPeer(gw.socketPath);
    const r2 = await rawHandshake(peer2, gw.ids.telegram, { claim: "slack" });
    assert(r2.result?.type === "authResult" && !r2.result.ok);
    assertStringIncludes(r2.result.reason, "does not match the one registered for slack");
    assert(!gw.server.connected("slack"));
    await stillWorks(gw);
  } finally {
    await gw.close();
  }
});

Deno.test("attack: a stalled handshake (slowloris) is cut at the deadline", async () => {
  const gw = await startTestGateway(["telegram"], { handshakeTimeoutMs: 300 });
  try {
    const silent = await rawPeer(gw.socketPath);
    const dribble = await rawPeer(gw.socketPath);
    const started = Date.now();
    // One byte of a length prefix every 50 ms, never a whole frame.
    const drip = setInterval(() => dribble.conn.write(new Uint8Array([0])).catch(() => {}), 50);
    const [a, b] = await Promise.all([silent.closedByGateway(2000), dribble.closedByGateway(2000)]);
    clearInterval(drip);
    const elapsed = Date.now() - started;
    assert(a && b, "both stalled peers were disconnected");
    assert(elapsed < 1500, `cut after ${elapsed} ms`);
    assert(gw.lines.some((l) => l.includes("handshake deadline")), "reason logged");
    await stillWorks(gw);
  } finally {
    await gw.close();
  }
});

/** Sends `bytes` after authenticating, expects the gateway to hang up and log `reason`. */
async function hostileAfterAuth(gw: TestGateway, bytes: Uint8Array, reason: string) {
  const peer = await rawPeer(gw.socketPath);
  const { result } = await rawHandshake(peer, gw.ids.slack);
  assert(result?.type === "authResult" && result.ok);
  await peer.writer.writeRaw(bytes).catch(() => {});
  assert(await peer.closedByGateway(), `closed after ${reason}`);
  await waitFor(() => gw.lines.some((l) => l.includes(reason)), 2000, `log line "${reason}"`);
  peer.close();
}

/** Sends `bytes` as the very first thing, before any handshake. */
async function hostileBeforeAuth(gw: TestGateway, bytes: Uint8Array) {
  const peer = await rawPeer(gw.socketPath);
  await peer.writer.writeRaw(bytes).catch(() => {});
  assert(await peer.closedByGateway(), "closed");
  peer.close();
}

function prefixLength(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

Deno.test("attack: frame length 0xFFFFFFFF and 16 MiB + 1, before and after auth", async () => {
  const gw = await startTestGateway();
  try {
    await hostileBeforeAuth(gw, prefixLength(0xffffffff));
    await hostileBeforeAuth(gw, prefixLength(MAX_FRAME_BYTES + 1));
    await hostileAfterAuth(gw, prefixLength(0xffffffff), "frame length 4294967295 exceeds");
    await hostileAfterAuth(gw, prefixLength(MAX_FRAME_BYTES + 1), `${MAX_FRAME_BYTES + 1} exceeds`);
    await stillWorks(gw);
  } finally {
    await gw.close();
  }
});

Deno.test("attack: 100-deep nesting, pointer loop, amplification, truncation, random bytes", async () => {
  const gw = await startTestGateway();
  try {
    const deep: Word[] = [];
    for (let i = 0; i < 100; i++) deep.push(structPtr(0, 0, 1));
    deep.push([0, 0]);
    await hostileAfterAuth(gw, lengthPrefixed(messageFromWords(deep)), "nesting deeper than 64");
    const loop = messageFromWords([structPtr(0, 0, 1), structPtr(-1, 0, 1)]);
    await hostileAfterAuth(gw, lengthPrefixed(loop), "invalid IPC frame");
    const amp: Word[] = [[((0 << 2) | 1) >>> 0, (6 | (200 << 3)) >>> 0]];
    for (let i = 0; i < 200; i++) amp.push(structPtr(200 - i - 1, 500, 0));
    for (let i = 0; i < 500; i++) amp.push([1, 1]);
    await hostileAfterAuth(gw, lengthPrefixed(messageFromWords(amp)), "traversal limit");
    const good = lengthPrefixed(encodeFrame({ type: "typing", conversationId: "c" }));
    const truncated = good.subarray(0, good.length - 5);
    // A truncated frame followed by EOF: the peer half-closes its side.
    const peer = await rawPeer(gw.socketPath);
    const { result } = await rawHandshake(peer, gw.ids.slack);
    assert(result?.type === "authResult" && result.ok);
    await peer.writer.writeRaw(truncated);
    await peer.conn.closeWrite();
    assert(await peer.closedByGateway());
    await waitFor(() => gw.lines.some((l) => l.includes("truncated frame")), 2000, "truncated log");
    peer.close();
    const random = crypto.getRandomValues(new Uint8Array(4096));
    random.set(prefixLength(4092), 0);
    await hostileAfterAuth(gw, random, "invalid IPC frame");
    await hostileBeforeAuth(gw, crypto.getRandomValues(new Uint8Array(1000)));
    // An adapter may not send gateway-only frames.
    await hostileAfterAuth(
      gw,
      lengthPrefixed(encodeFrame({ type: "shutdown", reason: "x" })),
      "may not send shutdown",
    );
    await stillWorks(gw);
  } finally {
    await gw.close();
  }
});

Deno.test("attack: 1,000 garbage connections in a row; the good adapter keeps working", async () => {
  const gw = await startTestGateway();
  try {
    const client = await goodAdapter(gw);
    for (let i = 0; i < 1000; i++) {
      const conn = await Deno.connect({ transport: "unix", path: gw.socketPath });
      const junk = i % 2 === 0
        ? crypto.getRandomValues(new Uint8Array(64))
        : prefixLength(0xffffffff);
      await conn.write(junk).catch(() => {});
      conn.close();
    }
    await client.sendInbound({ id: "1", senderId: "u", conversationId: "c", text: "still here" });
    await gw.waitInbound(1);
    assertEquals(gw.inbound[0].message.text, "still here");
    const r = await gw.server.send(openSession("telegram", "c"), { text: "yes" });
    assert(r.ok);
    // The flood is rate limited in the audit log: not one event per garbage connection.
    await waitFor(() => gw.server.stats().rejected >= 1000, 10_000, "all garbage handled");
    const failures = gw.audit.events.filter((e) => e.kind === "auth.failure").length;
    assert(failures > 0 && failures <= 11, `audited ${failures} failures`);
    client.close();
  } finally {
    await gw.close();
  }
});

Deno.test("repeated bad signatures for one adapter id are rate limited", async () => {
  const { FailureLimiter } = await import("../../src/ipc/handshake.ts");
  const gw = await startTestGateway(["telegram", "slack"], {
    limiter: new FailureLimiter(3, 60_000),
  });
  try {
    for (let i = 0; i < 4; i++) {
      const peer = await rawPeer(gw.socketPath);
      const r = await rawHandshake(peer, gw.ids.telegram, { signedId: "discord" });
      assert(r.result?.type === "authResult" && !r.result.ok);
      if (i === 3) assertStringIncludes(r.result.reason, "rate limited");
      peer.close();
    }
    // Another adapter id is unaffected.
    const slack = await rawPeer(gw.socketPath);
    const ok = await rawHandshake(slack, gw.ids.slack);
    assert(ok.result?.type === "authResult" && ok.result.ok);
    slack.close();
  } finally {
    await gw.close();
  }
});

Deno.test("a silent authenticated connection is closed after the dead interval", async () => {
  const gw = await startTestGateway(["telegram"], { heartbeatIntervalMs: 50, deadAfterMs: 200 });
  try {
    const peer = await rawPeer(gw.socketPath);
    const { result } = await rawHandshake(peer, gw.ids.telegram);
    assert(result?.type === "authResult" && result.ok);
    assertEquals(result.heartbeatIntervalMs, 50);
    // Read (and ignore) heartbeats but never answer.
    assert(await peer.closedByGateway(2000));
    assert(!gw.server.connected("telegram"));
    assert(gw.lines.some((l) => l.includes("silent too long")));
  } finally {
    await gw.close();
  }
});

Deno.test("a second gateway on the same socket is refused; a stale socket is replaced", async () => {
  const gw = await startTestGateway(["telegram"]);
  try {
    const { startIpcServer } = await import("../../src/ipc/server.ts");
    const { log } = captureLogger();
    let refused = "";
    try {
      await startIpcServer({
        socketPath: gw.socketPath,
        config: { channels: {} },
        audit: gw.audit,
        log,
        onInbound: () => {},
      });
    } catch (e) {
      refused = String(e);
    }
    assertStringIncludes(refused, "already listening");
    // A stale socket file (a gateway killed with SIGKILL never unlinks it) is replaced.
    const stalePath = `${gw.dir}/sockets/stale.sock`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({ transport: "unix", path: ${JSON.stringify(stalePath)} }); ` +
        `Deno.kill(Deno.pid, "SIGKILL");`,
      ],
    }).spawn();
    await child.status;
    assert(Deno.lstatSync(stalePath).isSocket, "a stale socket file exists");
    const again = await startIpcServer({
      socketPath: stalePath,
      config: { channels: {} },
      audit: gw.audit,
      log,
      onInbound: () => {},
    });
    await again.close();
  } finally {
    await gw.close();
  }
});

Deno.test("a flooding adapter meets backpressure: at most maxInflightInbound handlers run", async () => {
  let running = 0;
  let peak = 0;
  const release: (() => void)[] = [];
  const gw = await startTestGateway(["telegram"], {
    maxInflightInbound: 8,
    onInbound: () => {
      running++;
      peak = Math.max(peak, running);
      return new Promise<void>((r) =>
        release.push(() => {
          running--;
          r();
        })
      );
    },
  });
  try {
    const client = await goodAdapter(gw);
    for (let i = 0; i < 50; i++) {
      client.sendInbound({ id: `${i}`, senderId: "u", conversationId: "c", text: "x" }).catch(
        () => {},
      );
    }
    await waitFor(() => running === 8, 5000, "8 handlers running");
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(peak, 8);
    let handled = 0;
    while (handled < 50) {
      await waitFor(() => release.length > 0, 5000, "a handler to release");
      release.shift()!();
      handled++;
    }
    assertEquals(peak, 8);
    client.close();
  } finally {
    await gw.close();
  }
});

Deno.test("a flooding adapter is throttled, then cut off (logged, audited); another adapter keeps working", async () => {
  const gw = await startTestGateway(["telegram", "slack"], {
    frameRate: { burst: 20, perSecond: 50, cutAfter: 40 },
  });
  try {
    const peer = await rawPeer(gw.socketPath);
    const { result } = await rawHandshake(peer, gw.ids.slack);
    assert(result?.type === "authResult" && result.ok);
    let written = 0;
    const flood = (async () => {
      for (let i = 0; i < 100_000; i++) {
        await peer.writer.write({
          type: "inbound",
          id: `${i}`,
          channel: "slack",
          senderId: "u",
          senderName: "",
          conversationId: `c${i % 10}`,
          text: `flood ${i}`,
          timestamp: 0,
          isGroup: false,
          replyToId: "",
          attachments: [],
          metadata: {},
        });
        written++;
      }
    })().catch(() => {/* cut off: expected */});
    // During the flood the other channel's adapter connects and is served both ways.
    await waitFor(() => gw.inbound.length >= 20, 5000, "the flood to start");
    await stillWorks(gw);
    assert(await peer.closedByGateway(10_000), "the flooding connection was closed");
    await flood;
    const flooded = gw.inbound.filter((e) => e.channel === "slack").length;
    // Throttled: the burst, then the sustained rate until the cut; never the whole flood.
    assert(flooded < 200, `${flooded} flood frames were handled before the cut`);
    assert(written > flooded, `the adapter wrote ${written}, the gateway handled ${flooded}`);
    assert(!gw.server.connected("slack"));
    const cut = gw.server.lastCutOff("slack");
    assertStringIncludes(cut?.reason ?? "", "frame rate over limit");
    assertEquals(gw.server.lastCutOff("telegram"), undefined);
    const audited = gw.audit.events.filter((e) => e.kind === "adapter.crash");
    assertEquals(audited.length, 1);
    assertEquals(audited[0].channel, "slack");
    assertEquals(audited[0].payload?.cutOff, true);
    assertStringIncludes(String(audited[0].payload?.reason), "frame rate over limit");
    assert(
      gw.lines.some((l) => l.includes("closing adapter connection") && l.includes("frame rate")),
      "the cut is logged with its reason",
    );
    // And after the cut the good adapter still works.
    await stillWorks(gw);
    peer.close();
  } finally {
    await gw.close();
  }
});

Deno.test("an adapter under the frame rate is never cut, even past the burst", async () => {
  const gw = await startTestGateway(["telegram"], {
    frameRate: { burst: 10, perSecond: 1000, cutAfter: 5 },
  });
  try {
    const client = await goodAdapter(gw);
    for (let i = 0; i < 60; i++) {
      await client.sendInbound({ id: `${i}`, senderId: "u", conversationId: "c", text: "x" });
      // Slower than 1000 a second: the bucket keeps up.
      await new Promise((r) => setTimeout(r, 3));
    }
    await gw.waitInbound(60);
    assert(gw.server.connected("telegram"));
    assertEquals(gw.server.lastCutOff("telegram"), undefined);
    client.close();
  } finally {
    await gw.close();
  }
});

Deno.test("replies to the gateway's own requests take no frame-rate token; unsolicited ones do", async () => {
  const gw = await startTestGateway(["telegram", "slack"], {
    frameRate: { burst: 10, perSecond: 50, cutAfter: 20 },
  });
  try {
    // 300 answers to 300 outbound messages the gateway sent at once: far past the burst and the
    // cut, but every one was asked for.
    const client = await goodAdapter(gw);
    const results = await Promise.all(
      Array.from(
        { length: 300 },
        (_, i) => gw.server.send(openSession("telegram", `c${i % 7}`), { text: `m${i}` }),
      ),
    );
    assertEquals(results.filter((r) => r.ok).length, 300);
    assert(gw.server.connected("telegram"));
    assertEquals(gw.server.lastCutOff("telegram"), undefined);
    client.close();
    // The same frames with request ids the gateway never issued are a flood like any other.
    const peer = await rawPeer(gw.socketPath);
    const { result } = await rawHandshake(peer, gw.ids.slack);
    assert(result?.type === "authResult" && result.ok);
    (async () => {
      for (let i = 0; i < 100_000; i++) {
        await peer.writer.write({
          type: "outboundResult",
          requestId: `forged-${i}`,
          ok: true,
          messageId: "x",
          error: "",
        });
      }
    })().catch(() => {/* cut off: expected */});
    assert(await peer.closedByGateway(10_000), "the unsolicited flood was cut off");
    assertStringIncludes(gw.server.lastCutOff("slack")?.reason ?? "", "frame rate over limit");
    peer.close();
  } finally {
    await gw.close();
  }
});

Deno.test("a socket path too long for sockaddr_un is a clear error", async () => {
  const { startIpcServer } = await import("../../src/ipc/server.ts");
  const { log } = captureLogger();
  let message = "";
  try {
    await startIpcServer({
      socketPath: `/tmp/${"x".repeat(120)}/gateway.sock`,
      config: { channels: {} },
      audit: { append: () => Promise.resolve(0) },
      log,
      onInbound: () => {},
    });
  } catch (e) {
    message = String(e);
  }
  assertStringIncludes(message, "too long for a Unix socket");
});
