/**
 * A fake Discord for adapter tests: REST (`/api/v10/...`: gateway/bot, users/@me, channel
 * messages (JSON and multipart), edits, typing, interaction callbacks, attachment downloads)
 * and the gateway WebSocket (HELLO, IDENTIFY -> READY, RESUME -> RESUMED, heartbeat ACKs,
 * dispatches pushed by the test). Tests can inject REST failures (429 with retry_after, 500)
 * and drop every gateway connection.
 *
 * @module
 */

/** A REST call the bot made. */
export interface RestCall {
  method: string;
  path: string;
  body: Record<string, unknown>;
  at: number;
}

/** A running fake. */
export interface FakeDiscord {
  /** For `DISCORD_API_BASE` / discord.js `rest.api`. */
  apiBase: string;
  port: number;
  token: string;
  bot: { id: string; username: string };
  calls: RestCall[];
  /** Messages posted to channels. */
  posted(): RestCall[];
  /** Sends a gateway dispatch to every connected client. */
  dispatch(t: string, d: Record<string, unknown>): void;
  /** Live gateway connections that have identified or resumed. */
  sessions(): number;
  identifies(): number;
  resumes(): number;
  /** Makes the next `count` REST calls whose path matches fail with `status`. */
  fail(path: RegExp, status: number, count?: number, retryAfterSec?: number): void;
  /** Serves bytes at a CDN-like URL; returns the URL. */
  addFile(name: string, bytes: Uint8Array): string;
  /** Closes every gateway connection (the client should resume). */
  dropGateway(): void;
  close(): Promise<void>;
}

let nextId = 900000000000000000n;
/** A fresh snowflake-looking id. */
export function snowflake(): string {
  return String(nextId++);
}

/** A MESSAGE_CREATE payload. */
export function message(
  o: {
    author: string;
    channel: string;
    content: string;
    guild?: string;
    mentions?: string[];
    replyTo?: { id: string; author: string };
    attachments?: { filename: string; size: number; url: string; content_type?: string }[];
    bot?: boolean;
  },
): Record<string, unknown> {
  return {
    id: snowflake(),
    channel_id: o.channel,
    ...(o.guild ? { guild_id: o.guild } : {}),
    author: { id: o.author, username: `user${o.author}`, bot: o.bot ?? false, discriminator: "0" },
    content: o.content,
    timestamp: new Date().toISOString(),
    mentions: (o.mentions ?? []).map((id) => ({ id, username: `u${id}`, discriminator: "0" })),
    mention_everyone: false,
    attachments: (o.attachments ?? []).map((a) => ({ id: snowflake(), ...a })),
    embeds: [],
    type: o.replyTo ? 19 : 0,
    ...(o.replyTo
      ? {
        referenced_message: {
          id: o.replyTo.id,
          channel_id: o.channel,
          author: { id: o.replyTo.author, username: "bot", bot: true, discriminator: "0" },
          content: "",
        },
      }
      : {}),
  };
}

/** Starts the fake on a free loopback port. */
export function fakeDiscord(token = "fake-discord-bot-token.abc.def"): FakeDiscord {
  const bot = { id: "111111111111111111", username: "wirken-bot" };
  const calls: RestCall[] = [];
  const sockets = new Set<WebSocket>();
  const live = new Set<WebSocket>();
  const failures: { path: RegExp; status: number; count: number; retryAfter: number }[] = [];
  const files = new Map<string, Uint8Array>();
  let seq = 0;
  let identifies = 0;
  let resumes = 0;
  let port = 0;

  const send = (ws: WebSocket, payload: Record<string, unknown>) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
  };

  function gateway(req: Request): Response {
    const { socket, response } = Deno.upgradeWebSocket(req);
    sockets.add(socket);
    socket.onopen = () =>
      send(socket, { op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null });
    socket.onclose = () => {
      sockets.delete(socket);
      live.delete(socket);
    };
    socket.onmessage = (e) => {
      let p: { op: number; d: Record<string, unknown> };
      try {
        p = JSON.parse(String(e.data));
      } catch {
        return socket.close(4002, "decode error");
      }
      if (p.op === 1) return send(socket, { op: 11, d: null, s: null, t: null });
      if (p.op === 2) {
        if (String(p.d.token).replace(/^Bot /, "") !== token) {
          return socket.close(4004, "Authentication failed.");
        }
        identifies++;
        live.add(socket);
        return send(socket, {
          op: 0,
          t: "READY",
          s: ++seq,
          d: {
            v: 10,
            user: { ...bot, bot: true, discriminator: "0", avatar: null },
            guilds: [],
            session_id: "fake-session",
            resume_gateway_url: `ws://127.0.0.1:${port}`,
            application: { id: bot.id, flags: 0 },
            private_channels: [],
          },
        });
      }
      if (p.op === 6) {
        resumes++;
        live.add(socket);
        return send(socket, { op: 0, t: "RESUMED", s: ++seq, d: {} });
      }
    };
    return response;
  }

  async function body(req: Request): Promise<Record<string, unknown>> {
    const type = req.headers.get("content-type") ?? "";
    if (type.includes("application/json")) return await req.json();
    if (type.includes("multipart/form-data")) {
      const form = await req.formData();
      const out: Record<string, unknown> = {};
      for (const [k, v] of form.entries()) {
        out[k] = typeof v === "string"
          ? (k === "payload_json" ? JSON.parse(v) : v)
          : { fileName: v.name, size: v.size };
      }
      return out;
    }
    return {};
  }

  async function handle(req: Request): Promise<Response> {
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return gateway(req);
    const url = new URL(req.url);
    const path = url.pathname;
    if (path.startsWith("/cdn/")) {
      const f = files.get(path);
      return f ? new Response(f as BodyInit) : new Response("not found", { status: 404 });
    }
    const interaction = /^\/api\/v10\/interactions\//.test(path);
    if (!interaction && req.headers.get("authorization") !== `Bot ${token}`) {
      return Response.json({ message: "401: Unauthorized", code: 0 }, { status: 401 });
    }
    const b = req.method === "GET" ? {} : await body(req);
    const f = failures.find((x) => x.count > 0 && x.path.test(path));
    if (f) {
      f.count--;
      calls.push({ method: `${req.method}!${f.status}`, path, body: b, at: Date.now() });
      return f.status === 429
        ? Response.json(
          { message: "You are being rate limited.", retry_after: f.retryAfter, global: false },
          {
            status: 429,
            headers: {
              "retry-after": String(Math.ceil(f.retryAfter)),
              "x-ratelimit-scope": "user",
              "x-ratelimit-bucket": "fake-bucket",
              "x-ratelimit-limit": "5",
              "x-ratelimit-remaining": "0",
              "x-ratelimit-reset-after": String(f.retryAfter),
            },
          },
        )
        : Response.json({ message: "Internal Server Error", code: 0 }, { status: f.status });
    }
    calls.push({ method: req.method, path, body: b, at: Date.now() });
    if (path === "/api/v10/gateway/bot") {
      return Response.json({
        url: `ws://127.0.0.1:${port}`,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (path === "/api/v10/users/@me") return Response.json({ ...bot, bot: true });
    let m = /^\/api\/v10\/channels\/(\d+)\/messages$/.exec(path);
    if (m && req.method === "POST") {
      const payload = (b.payload_json as Record<string, unknown> | undefined) ?? b;
      return Response.json({
        id: snowflake(),
        channel_id: m[1],
        content: payload.content ?? "",
        author: { ...bot, bot: true },
      });
    }
    m = /^\/api\/v10\/channels\/(\d+)\/messages\/(\d+)$/.exec(path);
    if (m && req.method === "PATCH") {
      return Response.json({ id: m[2], channel_id: m[1], content: b.content ?? "" });
    }
    if (/^\/api\/v10\/channels\/\d+\/typing$/.test(path)) {
      return new Response(null, { status: 204 });
    }
    if (interaction) return new Response(null, { status: 204 });
    return Response.json({ message: "404: Not Found", code: 0 }, { status: 404 });
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  port = server.addr.port;
  return {
    apiBase: `http://127.0.0.1:${port}/api`,
    port,
    token,
    bot,
    calls,
    posted: () => calls.filter((c) => c.method === "POST" && /\/messages$/.test(c.path)),
    dispatch(t, d) {
      for (const ws of live) send(ws, { op: 0, t, s: ++seq, d });
    },
    sessions: () => live.size,
    identifies: () => identifies,
    resumes: () => resumes,
    fail(path, status, count = 1, retryAfter = 1) {
      failures.push({ path, status, count, retryAfter });
    },
    addFile(name, bytes) {
      const p = `/cdn/attachments/${snowflake()}/${name}`;
      files.set(p, bytes);
      return `http://127.0.0.1:${port}${p}`;
    },
    dropGateway() {
      for (const ws of sockets) ws.close(4000, "unknown error");
    },
    async close() {
      for (const ws of sockets) ws.close(1000);
      await server.shutdown();
    },
  };
}
