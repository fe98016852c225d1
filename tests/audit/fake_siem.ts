/**
 * Fake Datadog / Splunk HEC / webhook receivers on loopback for the forwarding tests. Each one
 * checks what a real one would (auth header, body shape, the webhook HMAC and timestamp),
 * answers from a scripted list of statuses, can go down and come back on the same port, and
 * records the seqs it accepted, in arrival order.
 *
 * @module
 */
import { Secret } from "../../src/secret.ts";
import { verifyWebhook } from "../../src/siem/formats.ts";

/** Which wire format the fake speaks. */
export type FakeKind = "datadog" | "splunk" | "webhook";

/** A scripted answer: a status, optionally with headers. */
export type Answer = number | { status: number; headers?: Record<string, string> };

/** One fake receiver. */
export class FakeSiem {
  readonly kind: FakeKind;
  readonly key: string;
  /** Seqs in every 2xx-answered request, in arrival order. */
  readonly accepted: number[] = [];
  /** Problems with requests (wrong header, bad HMAC, ...): a test expects none. */
  readonly problems: string[] = [];
  /** Answers used before falling back to `fallback`. */
  plan: Answer[] = [];
  /** Answer when the plan is empty. */
  fallback: Answer;
  /** Decides per request from its seqs (after the plan); overrides `fallback` when it returns a value. */
  judge?: (seqs: number[]) => Answer | undefined;
  requests = 0;
  /** Delay before answering, in ms. */
  delayMs = 0;
  #server: Deno.HttpServer | null = null;
  port = 0;

  /** A fake for `kind` that expects `key`. */
  constructor(kind: FakeKind, key: string) {
    this.kind = kind;
    this.key = key;
    this.fallback = kind === "datadog" ? 202 : 200;
  }

  /** The url a destination should use. */
  get url(): string {
    const path = this.kind === "datadog"
      ? "/api/v2/logs"
      : this.kind === "splunk"
      ? "/services/collector/event"
      : "/hooks/audit";
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Starts listening (on the previous port after a `down`). */
  up(): void {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: this.port, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.port = (this.#server.addr as Deno.NetAddr).port;
  }

  /** Stops listening: connections are refused until `up` again. */
  async down(): Promise<void> {
    await this.#server?.shutdown();
    this.#server = null;
  }

  async #handle(req: Request): Promise<Response> {
    this.requests++;
    const body = await req.text();
    let seqs: number[];
    try {
      seqs = this.#check(req, body);
    } catch (e) {
      this.problems.push((e as Error).message);
      return new Response("bad", { status: 400 });
    }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const answer = this.plan.shift() ?? this.judge?.(seqs) ?? this.fallback;
    const { status, headers } = typeof answer === "number"
      ? { status: answer, headers: {} }
      : answer;
    if (status >= 200 && status < 300) this.accepted.push(...seqs);
    return new Response(status < 300 ? '{"text":"Success","code":0}' : '{"error":"nope"}', {
      status,
      headers,
    });
  }

  #check(req: Request, body: string): number[] {
    const url = new URL(req.url);
    if (req.method !== "POST") throw new Error(`method ${req.method}`);
    if (req.headers.get("content-type") !== "application/json") throw new Error("content-type");
    switch (this.kind) {
      case "datadog": {
        if (url.pathname !== "/api/v2/logs") throw new Error(`path ${url.pathname}`);
        if (req.headers.get("dd-api-key") !== this.key) throw new Error("DD-API-KEY");
        const entries = JSON.parse(body) as {
          ddsource: string;
          service: string;
          wirken: { seq: number; hash: string };
        }[];
        if (
          !Array.isArray(entries) || entries.some((e) => e.ddsource !== "wirken" || !e.wirken?.hash)
        ) {
          throw new Error("datadog body");
        }
        return entries.map((e) => e.wirken.seq);
      }
      case "splunk": {
        if (req.headers.get("authorization") !== `Splunk ${this.key}`) {
          throw new Error("Authorization");
        }
        const events = body.split("\n").map((l) =>
          JSON.parse(l) as { time: number; sourcetype: string; event: { seq: number } }
        );
        if (events.some((e) => typeof e.time !== "number" || e.sourcetype !== "wirken:audit")) {
          throw new Error("splunk body");
        }
        return events.map((e) => e.event.seq);
      }
      case "webhook": {
        if (!verifyWebhook(new Secret(this.key), req.headers, body)) {
          throw new Error("HMAC or timestamp");
        }
        const parsed = JSON.parse(body) as { source: string; events: { seq: number }[] };
        if (parsed.source !== "wirken") throw new Error("webhook body");
        return parsed.events.map((e) => e.seq);
      }
    }
  }
}

/** Polls `cond` every 10 ms until true; fails after `timeoutMs` with `what`. */
export async function waitFor(
  cond: () => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
