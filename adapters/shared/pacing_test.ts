import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { EditThrottle, TypingIndicators, withRetry } from "./pacing.ts";
import {
  AttachmentTooLarge,
  collectAttachments,
  downloadCapped,
  inlineAttachment,
  safeFileName,
} from "./attachments.ts";

Deno.test("withRetry waits the platform's retry_after, gives up on other errors", async () => {
  let calls = 0;
  const started = Date.now();
  const v = await withRetry(() => {
    calls++;
    return calls < 3 ? Promise.reject(new Error("429")) : Promise.resolve("ok");
  }, { classify: () => ({ retryable: true, afterMs: 50 }) });
  assertEquals([v, calls], ["ok", 3]);
  assert(Date.now() - started >= 100);
  calls = 0;
  await assertRejects(
    () =>
      withRetry(() => {
        calls++;
        return Promise.reject(new Error("400"));
      }, { classify: () => ({ retryable: false }) }),
    Error,
  );
  assertEquals(calls, 1);
  await assertRejects(
    () =>
      withRetry(() => Promise.reject(new Error("429")), {
        classify: () => ({ retryable: true, afterMs: 120_000 }),
      }),
    Error,
  );
});

Deno.test("EditThrottle spaces edits of one message; TypingIndicators repeat until stopped", async () => {
  const t = new EditThrottle(100);
  const at: number[] = [];
  for (let i = 0; i < 3; i++) {
    await t.turn("m1");
    at.push(Date.now());
  }
  assert(at[2] - at[0] >= 190, `${at[2] - at[0]}`);
  const sent: string[] = [];
  const typing = new TypingIndicators((c) => {
    sent.push(c);
    return Promise.resolve();
  }, 40);
  typing.start("c1");
  typing.start("c1");
  await new Promise((r) => setTimeout(r, 130));
  typing.stop("c1");
  const n = sent.length;
  assert(n >= 2, `${n}`);
  await new Promise((r) => setTimeout(r, 100));
  assertEquals(sent.length, n, "stopped");
  typing.close();
});

Deno.test("downloadCapped stops at the cap whatever Content-Length says", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const big = new Uint8Array(300_000);
    if (req.url.endsWith("/declared")) {
      return new Response(big, { headers: { "content-length": String(big.length) } });
    }
    // A chunked body (no Content-Length) that is too long.
    return new Response(
      new ReadableStream({
        start(c) {
          for (let i = 0; i < 30; i++) c.enqueue(new Uint8Array(10_000));
          c.close();
        },
      }),
    );
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await assertRejects(() => downloadCapped(`${base}/declared`, 1000), AttachmentTooLarge);
    await assertRejects(() => downloadCapped(`${base}/chunked`, 100_000), AttachmentTooLarge);
    assertEquals((await downloadCapped(`${base}/chunked`, 400_000)).length, 300_000);
    const r = await collectAttachments(
      [
        {
          name: "a",
          size: 10,
          load: () => Promise.resolve(inlineAttachment("a", "", new Uint8Array(10))),
        },
        { name: "b", size: 100, load: () => Promise.reject(new Error("no")) },
        { name: "../../etc/c", size: 10_000 },
      ].map((f) => ({ load: () => Promise.reject(new Error("x")), ...f })),
      50,
    );
    assertEquals(r.attachments.map((a) => a.name), ["a"]);
    assertEquals(r.skipped.length, 2);
    assertEquals(safeFileName("../../etc/passwd"), "passwd");
    assertEquals(safeFileName("..."), "file");
  } finally {
    await server.shutdown();
  }
});
