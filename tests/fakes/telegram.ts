/**
 * A fake Telegram Bot API for adapter tests, enough for grammy's long polling: getMe,
 * deleteWebhook, getUpdates (long poll), sendMessage, editMessageText, editMessageReplyMarkup,
 * sendChatAction, answerCallbackQuery, getFile + file downloads, sendDocument (multipart).
 * Tests push updates, read what the bot sent, inject failures (429 with retry_after, 500) and
 * drop every connection (the server goes away for a moment and comes back on the same port).
 *
 * @module
 */

/** Something the bot did, as the fake saw it. */
export interface BotCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
}

/** A running fake. */
export interface FakeTelegram {
  /** `apiRoot` for grammy (no trailing slash). */
  url: string;
  port: number;
  token: string;
  bot: { id: number; username: string };
  calls: BotCall[];
  /** Calls of one method. */
  sent(method: string): BotCall[];
  /** Queues an update (its `update_id` is assigned). */
  push(update: Record<string, unknown>): void;
  /** Makes the next `count` calls of `method` fail with `status` (429 carries retry_after). */
  fail(method: string, status: number, count?: number, retryAfter?: number): void;
  /** Serves `bytes` at `file_path` for getFile(file_id). */
  addFile(fileId: string, bytes: Uint8Array, declaredSize?: number): void;
  /** Closes every connection and stops answering for `ms`, then listens again. */
  drop(ms: number): Promise<void>;
  /** How many getUpdates calls have been seen. */
  polls(): number;
  close(): Promise<void>;
}

let nextMessageId = 1000;

/** An update as pushed to the fake. */
export type Update = { message: Record<string, unknown> };

/** A private text message from `from` (a user id) to the bot. */
export function dm(from: number, text: string, extra: Record<string, unknown> = {}): Update {
  return {
    message: {
      message_id: nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: from, type: "private" },
      from: { id: from, is_bot: false, first_name: `user${from}` },
      text,
      ...extra,
    },
  };
}

/** A group message; `mention` puts `@bot` first with its entity. */
export function groupMessage(
  chat: number,
  from: number,
  text: string,
  options: { mention?: string; replyTo?: { id: number; from: number } } = {},
): Update {
  const body = options.mention ? `@${options.mention} ${text}` : text;
  return {
    message: {
      message_id: nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chat, type: "supergroup" },
      from: { id: from, is_bot: false, first_name: `user${from}` },
      text: body,
      ...(options.mention
        ? { entities: [{ type: "mention", offset: 0, length: options.mention.length + 1 }] }
        : {}),
      ...(options.replyTo
        ? {
          reply_to_message: {
            message_id: options.replyTo.id,
            date: 0,
            chat: { id: chat, type: "supergroup" },
            from: { id: options.replyTo.from, is_bot: true, first_name: "bot" },
          },
        }
        : {}),
    },
  };
}

/** Starts the fake on a free loopback port. */
export function fakeTelegram(token = "123456:fake-telegram-token"): FakeTelegram {
  const bot = { id: 777000, username: "wirken_test_bot" };
  const calls: BotCall[] = [];
  const updates: Record<string, unknown>[] = [];
  const failures = new Map<string, { status: number; count: number; retryAfter: number }>();
  const files = new Map<string, { path: string; bytes: Uint8Array; declared?: number }>();
  let updateId = 1;
  let pollCount = 0;
  let waiters: (() => void)[] = [];
  let sentId = 5000;

  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  async function params(req: Request): Promise<Record<string, unknown>> {
    const type = req.headers.get("content-type") ?? "";
    if (type.includes("application/json")) return await req.json();
    if (type.includes("multipart/form-data")) {
      const form = await req.formData();
      const out: Record<string, unknown> = {};
      for (const [k, v] of form.entries()) {
        out[k] = typeof v === "string" ? v : { fileName: v.name, size: v.size };
      }
      return out;
    }
    const text = await req.text();
    return text ? Object.fromEntries(new URLSearchParams(text)) : {};
  }

  const ok = (result: unknown) => Response.json({ ok: true, result });

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileMatch) {
      if (fileMatch[1] !== token) return new Response("unauthorized", { status: 401 });
      const f = [...files.values()].find((x) => x.path === fileMatch[2]);
      if (!f) return new Response("not found", { status: 404 });
      return new Response(f.bytes as BodyInit);
    }
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    if (m[1] !== token) {
      return Response.json({ ok: false, error_code: 401, description: "Unauthorized" }, {
        status: 401,
      });
    }
    const method = m[2];
    const p = await params(req);
    const failure = failures.get(method);
    if (failure && failure.count > 0) {
      failure.count--;
      calls.push({ method: `${method}!${failure.status}`, params: p, at: Date.now() });
      return Response.json({
        ok: false,
        error_code: failure.status,
        description: failure.status === 429 ? "Too Many Requests: retry later" : "Internal error",
        ...(failure.status === 429 ? { parameters: { retry_after: failure.retryAfter } } : {}),
      }, { status: failure.status });
    }
    if (method !== "getUpdates") calls.push({ method, params: p, at: Date.now() });
    switch (method) {
      case "getMe":
        return ok({ ...bot, is_bot: true, first_name: "Wirken", can_join_groups: true });
      case "deleteWebhook":
      case "sendChatAction":
      case "answerCallbackQuery":
        return ok(true);
      case "getUpdates": {
        pollCount++;
        const offset = Number(p.offset ?? 0);
        while (updates.length > 0 && (updates[0].update_id as number) < offset) updates.shift();
        if (updates.length === 0) {
          // Long poll, but short: tests are quick and shutdown should not wait long.
          const timeout = Math.min(Number(p.timeout ?? 0), 1) * 1000;
          await new Promise<void>((r) => {
            const t = setTimeout(r, timeout);
            waiters.push(() => {
              clearTimeout(t);
              r();
            });
          });
        }
        return ok(updates.filter((u) => (u.update_id as number) >= offset));
      }
      case "sendMessage":
      case "sendDocument": {
        const chat = Number(p.chat_id);
        return ok({
          message_id: sentId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chat, type: chat > 0 ? "private" : "supergroup" },
          from: { ...bot, is_bot: true, first_name: "Wirken" },
          text: typeof p.text === "string" ? p.text : undefined,
        });
      }
      case "editMessageText":
      case "editMessageReplyMarkup":
        return ok({
          message_id: Number(p.message_id),
          date: 0,
          chat: { id: Number(p.chat_id), type: "private" },
          text: p.text,
        });
      case "getFile": {
        const f = files.get(String(p.file_id));
        if (!f) return Response.json({ ok: false, error_code: 400, description: "bad file" });
        return ok({
          file_id: p.file_id,
          file_unique_id: "u",
          file_size: f.declared ?? f.bytes.length,
          file_path: f.path,
        });
      }
      default:
        return Response.json({ ok: false, error_code: 404, description: "Not Found" }, {
          status: 404,
        });
    }
  }

  let server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    bot,
    calls,
    sent: (method) => calls.filter((c) => c.method === method),
    push(update) {
      updates.push({ update_id: updateId++, ...update });
      wake();
    },
    fail(method, status, count = 1, retryAfter = 1) {
      failures.set(method, { status, count, retryAfter });
    },
    addFile(fileId, bytes, declared) {
      files.set(fileId, { path: `documents/${fileId}.bin`, bytes, declared });
    },
    async drop(ms) {
      wake();
      await server.shutdown();
      await new Promise((r) => setTimeout(r, ms));
      server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handle);
    },
    polls: () => pollCount,
    async close() {
      wake();
      await server.shutdown();
    },
  };
}
