/**
 * A fake Slack for adapter tests: the Web API methods the adapter uses (`auth.test`,
 * `apps.connections.open`, `chat.postMessage`, `chat.update`, file downloads) and the Socket
 * Mode WebSocket (`hello`, envelopes pushed by the test, acks recorded). Tests can inject Web
 * API failures (429 with Retry-After) and drop every socket (the client reconnects through
 * `apps.connections.open`).
 *
 * @module
 */

/** A Web API call the bot made. */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
}

/** A running fake. */
export interface FakeSlack {
  /** For `SLACK_API_URL` (ends with `/`). */
  apiUrl: string;
  botToken: string;
  appToken: string;
  botUser: string;
  calls: SlackCall[];
  sent(method: string): SlackCall[];
  /** Sends an `events_api` envelope carrying `event`; resolves to its envelope id. */
  event(event: Record<string, unknown>): string;
  /** Sends an `interactive` envelope (block actions). */
  interactive(payload: Record<string, unknown>): string;
  acked(): string[];
  /** Open Socket Mode connections, and how many were ever opened. */
  sockets(): number;
  connections(): number;
  fail(method: string, status: number, count?: number, retryAfterSec?: number): void;
  addFile(name: string, bytes: Uint8Array): string;
  dropSockets(): void;
  close(): Promise<void>;
}

let tsCounter = 0;
/** A fresh message timestamp. */
export function slackTs(): string {
  return `${1700000000 + tsCounter++}.000100`;
}

/** A `message` event. */
export function slackMessage(o: {
  user: string;
  channel: string;
  text: string;
  channelType?: "im" | "channel";
  threadTs?: string;
  parentUser?: string;
  files?: Record<string, unknown>[];
}): Record<string, unknown> {
  return {
    type: "message",
    channel: o.channel,
    channel_type: o.channelType ?? "im",
    user: o.user,
    text: o.text,
    ts: slackTs(),
    ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
    ...(o.parentUser ? { parent_user_id: o.parentUser } : {}),
    ...(o.files ? { files: o.files, subtype: "file_share" } : {}),
  };
}

/** Starts the fake on a free loopback port. */
export function fakeSlack(): FakeSlack {
  const botToken = "xoxb-fake-bot-token-1234";
  const appToken = "xapp-fake-app-token-5678";
  const botUser = "UBOT0001";
  const calls: SlackCall[] = [];
  const sockets = new Set<WebSocket>();
  const acks: string[] = [];
  const failures = new Map<string, { status: number; count: number; retryAfter: number }>();
  const files = new Map<string, Uint8Array>();
  let connections = 0;
  let port = 0;

  async function args(req: Request): Promise<Record<string, unknown>> {
    const type = req.headers.get("content-type") ?? "";
    if (type.includes("application/json")) return await req.json();
    const text = await req.text();
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      // The Web API client sends nested values (blocks) as JSON strings.
      out[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
    }
    return out;
  }

  function socket(req: Request): Response {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => {
      sockets.add(socket);
      connections++;
      socket.send(JSON.stringify({
        type: "hello",
        num_connections: 1,
        debug_info: { host: "fake", approximate_connection_time: 3600 },
        connection_info: { app_id: "A0001" },
      }));
    };
    socket.onclose = () => sockets.delete(socket);
    socket.onmessage = (e) => {
      try {
        const m = JSON.parse(String(e.data));
        if (typeof m.envelope_id === "string") acks.push(m.envelope_id);
      } catch { /* ignore */ }
    };
    return response;
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return socket(req);
    if (url.pathname.startsWith("/files/")) {
      if (req.headers.get("authorization") !== `Bearer ${botToken}`) {
        return new Response("unauthorized", { status: 403 });
      }
      const f = files.get(url.pathname);
      return f ? new Response(f as BodyInit) : new Response("not found", { status: 404 });
    }
    const m = /^\/api\/([\w.]+)$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    const method = m[1];
    const a = await args(req);
    const auth = req.headers.get("authorization") ?? (a.token ? `Bearer ${a.token}` : "");
    const wanted = method === "apps.connections.open" ? appToken : botToken;
    if (auth !== `Bearer ${wanted}`) return Response.json({ ok: false, error: "invalid_auth" });
    const f = failures.get(method);
    if (f && f.count > 0) {
      f.count--;
      calls.push({ method: `${method}!${f.status}`, args: a, at: Date.now() });
      return Response.json({ ok: false, error: "ratelimited" }, {
        status: f.status,
        headers: { "retry-after": String(f.retryAfter) },
      });
    }
    calls.push({ method, args: a, at: Date.now() });
    switch (method) {
      case "auth.test":
        return Response.json({
          ok: true,
          url: "https://fake.slack.com/",
          team: "Fake",
          user: "wirken",
          team_id: "T0001",
          user_id: botUser,
          bot_id: "B0001",
        });
      case "apps.connections.open":
        return Response.json({
          ok: true,
          url: `ws://127.0.0.1:${port}/link/?ticket=${connections}`,
        });
      case "chat.postMessage":
        return Response.json({
          ok: true,
          channel: a.channel,
          ts: slackTs(),
          message: { text: a.text, user: botUser },
        });
      case "chat.update":
        return Response.json({ ok: true, channel: a.channel, ts: a.ts, text: a.text });
      default:
        return Response.json({ ok: false, error: "unknown_method" });
    }
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  port = server.addr.port;
  const envelope = (type: string, payload: Record<string, unknown>) => {
    const id = crypto.randomUUID();
    const body = JSON.stringify({
      envelope_id: id,
      type,
      payload,
      accepts_response_payload: false,
      retry_attempt: 0,
      retry_reason: "",
    });
    for (const s of sockets) s.send(body);
    return id;
  };
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    botToken,
    appToken,
    botUser,
    calls,
    sent: (method) => calls.filter((c) => c.method === method),
    event: (event) =>
      envelope("events_api", {
        token: "verification",
        team_id: "T0001",
        api_app_id: "A0001",
        event: { ...event, event_ts: event.ts },
        type: "event_callback",
        event_id: `Ev${crypto.randomUUID().slice(0, 8)}`,
        event_time: Math.floor(Date.now() / 1000),
      }),
    interactive: (payload) => envelope("interactive", payload),
    acked: () => acks,
    sockets: () => sockets.size,
    connections: () => connections,
    fail(method, status, count = 1, retryAfter = 1) {
      failures.set(method, { status, count, retryAfter });
    },
    addFile(name, bytes) {
      const p = `/files/${crypto.randomUUID()}/${name}`;
      files.set(p, bytes);
      return `http://127.0.0.1:${port}${p}`;
    },
    dropSockets() {
      for (const s of sockets) s.close(1001, "going away");
    },
    async close() {
      for (const s of sockets) s.close(1000);
      await server.shutdown();
    },
  };
}
