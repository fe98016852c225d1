/**
 * A scripted HTTP server on 127.0.0.1 (port 0) that records every request and answers with
 * queued responses, chunk by chunk, so tests control exactly how a stream is split.
 *
 * @module
 */

/** A request the server received. */
export interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
}

/** One scripted answer. */
export interface Scripted {
  status?: number;
  headers?: Record<string, string>;
  /** Body pieces, each written and flushed separately. */
  chunks?: (string | Uint8Array)[];
  /** Pause between chunks, so they travel as separate network reads. */
  gapMs?: number;
  /** Error the body stream after the chunks (a connection dropped mid-answer). */
  abort?: boolean;
  /** Wait this long before sending the response headers. */
  delayMs?: number;
}

/** The running fake. */
export interface FakeServer {
  url: string;
  requests: Recorded[];
  /** Queues answers, consumed in order; the last one repeats when the queue runs dry. */
  push(...answers: Scripted[]): void;
  close(): Promise<void>;
}

const enc = new TextEncoder();

/** Starts a fake server; `check` may throw to fail the request with HTTP 599 and record why. */
export function startFakeServer(check?: (req: Recorded) => void | Promise<void>): FakeServer {
  const queue: Scripted[] = [];
  const requests: Recorded[] = [];
  const errors: unknown[] = [];
  let last: Scripted = { status: 500, chunks: ["no script"] };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (r) => {
    const rec: Recorded = {
      method: r.method,
      url: new URL(r.url),
      headers: r.headers,
      body: await r.text(),
    };
    requests.push(rec);
    try {
      await check?.(rec);
    } catch (e) {
      errors.push(e);
      return new Response(`check failed: ${(e as Error).message}`, { status: 599 });
    }
    const answer = queue.shift() ?? last;
    last = answer;
    if (answer.delayMs) await new Promise((res) => setTimeout(res, answer.delayMs));
    const chunks = answer.chunks ?? [];
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const c of chunks) {
          controller.enqueue(typeof c === "string" ? enc.encode(c) : c);
          await new Promise((res) => setTimeout(res, answer.gapMs ?? 2));
        }
        if (answer.abort) controller.error(new Error("connection dropped"));
        else controller.close();
      },
    });
    return new Response(body, { status: answer.status ?? 200, headers: answer.headers });
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    push: (...a) => queue.push(...a),
    close: async () => {
      await server.shutdown();
      if (errors.length) throw errors[0];
    },
  };
}

/** Formats SSE events: `data` objects are JSON-encoded; `event` names are optional. */
export function sse(...events: ({ event?: string; data: unknown } | string)[]): string[] {
  return events.map((e) => {
    if (typeof e === "string") return `data: ${e}\n\n`;
    const data = typeof e.data === "string" ? e.data : JSON.stringify(e.data);
    return (e.event ? `event: ${e.event}\n` : "") + `data: ${data}\n\n`;
  });
}

/** Splits text into two byte chunks in the middle of its first multi-byte character. */
export function splitInsideChar(text: string): Uint8Array[] {
  const bytes = enc.encode(text);
  const i = bytes.findIndex((b) => b >= 0xf0 || (b >= 0xe0 && b < 0xf0));
  if (i < 0) throw new Error("no multi-byte character to split");
  return [bytes.subarray(0, i + 2), bytes.subarray(i + 2)];
}

/** Concatenates byte pieces. */
export function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of pieces) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Encodes `wrap(text)` (an event or line whose payload contains the text of `pieces`) and cuts
 * its bytes where the boundaries between `pieces` fall, so a multi-byte character is split in
 * the network stream exactly as in `pieces`.
 */
export function cutAt(pieces: Uint8Array[], wrap: (text: string) => string): Uint8Array[] {
  const whole = concat(pieces);
  const text = new TextDecoder().decode(whole);
  const bytes = enc.encode(wrap(text));
  const at = indexOfBytes(bytes, whole);
  if (at < 0) throw new Error("the wrapped text must contain the raw text unescaped");
  const out: Uint8Array[] = [];
  let from = 0;
  let acc = at;
  for (const p of pieces.slice(0, -1)) {
    acc += p.length;
    out.push(bytes.subarray(from, acc));
    from = acc;
  }
  out.push(bytes.subarray(from));
  return out;
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
