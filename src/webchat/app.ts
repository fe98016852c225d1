/**
 * The WebChat HTTP app (hono): the login link, the single-page chat UI (embedded, no CDN), its
 * JSON API and the chat WebSocket. Everything it does goes through a {@linkcode ChatService}.
 *
 * Defences, each for a reason:
 * - Loopback `Host` only (421 otherwise): stops DNS rebinding, where a page on another origin
 *   points its own name at 127.0.0.1 to reach us.
 * - A per-start login token (the URL `wirken run` prints) opens a session kept in an HttpOnly,
 *   SameSite=Strict cookie: other local users and pages have no way in without it.
 * - Exact `Origin` on the WebSocket handshake and on every POST, plus a per-session CSRF header:
 *   pages on other localhost ports are same-site, so SameSite alone does not stop them.
 * - A strict CSP: scripts only from our own files, no inline code, no eval, and Trusted Types
 *   required so that no HTML string can ever reach an HTML sink in the page.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { readCapped } from "../net/read_capped.ts";
import { APP_CSS, APP_JS, MARKDOWN_JS } from "./assets.ts";
import { cookieName, sameOrigin, type WebChatAuth } from "./auth.ts";
import {
  AuditQuerySchema,
  RevokeSchema,
  SessionIdSchema,
  SessionsQuerySchema,
  UploadQuerySchema,
} from "./protocol.ts";
import type { ChatService } from "./service.ts";
import { errorText, openSocketSession } from "./socket.ts";

/** What the page shows about the running gateway. */
export interface WebChatInfo {
  version: string;
  provider: string | null;
  startedAt: Date;
}

/** Options of {@linkcode createWebChatApp}. */
export interface WebChatOptions {
  /** Login token and browser sessions of this gateway start (see `createWebChatAuth`). */
  auth: WebChatAuth;
  /** Largest upload accepted, in bytes. Default 10 MiB. */
  maxUploadBytes?: number;
}

/** Default cap of one uploaded file. */
export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** The Content-Security-Policy of every response. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i;

type Vars = { Variables: { csrf: string } };

/** The login URL for a gateway at `baseUrl` (e.g. `http://localhost:18790`). */
export function loginUrl(baseUrl: string, auth: WebChatAuth): string {
  return `${baseUrl}/login?token=${auth.loginToken}`;
}

/** Builds the hono app. */
export function createWebChatApp(
  info: WebChatInfo,
  service: ChatService,
  options: WebChatOptions,
): Hono<Vars> {
  const { auth } = options;
  const maxUpload = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const app = new Hono<Vars>();
  /** Open sockets per browser session, so logging out also cuts live connections. */
  const sockets = new Map<string, Set<WebSocket>>();

  app.use("*", async (c, next) => {
    const host = c.req.header("host") ?? "";
    if (!LOOPBACK_HOST.test(host)) {
      return c.text("wirken WebChat only answers on localhost.\n", 421);
    }
    await next();
    // A 101 upgrade response carries no page; its headers are the runtime's to finish.
    if (c.res.status === 101) return;
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cross-Origin-Opener-Policy", "same-origin");
    c.header("Cross-Origin-Resource-Policy", "same-origin");
    c.header("Cache-Control", "no-store");
    c.header("Content-Security-Policy", CSP);
  });

  app.get("/healthz", (c) =>
    c.json({
      ok: true,
      version: info.version,
      provider: info.provider,
      uptimeSeconds: Math.round((Date.now() - info.startedAt.getTime()) / 1000),
    }));

  // The UI's code is public (it is in the binary); only the API and the page shell need a login.
  const asset = (body: string, type: string) => (c: Context) =>
    c.body(body, 200, { "Content-Type": type });
  app.get("/static/app.js", asset(APP_JS, "text/javascript; charset=utf-8"));
  app.get("/static/markdown.js", asset(MARKDOWN_JS, "text/javascript; charset=utf-8"));
  app.get("/static/app.css", asset(APP_CSS, "text/css; charset=utf-8"));

  // Browsers ask for it on every page; an empty answer keeps their consoles (and tests) quiet.
  app.get("/favicon.ico", (c) => c.body(null, 204));

  app.get("/login", (c) => {
    const session = auth.login(c.req.query("token") ?? "");
    if (!session) return c.html(loginPage(info, "That login link is not valid."), 401);
    setCookie(c, cookieName(c.req.header("host") ?? ""), session.id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
    });
    // Redirect so the token leaves the address bar (and the page's history entry).
    return c.redirect("/", 303);
  });

  const sessionOf = (c: Context) =>
    auth.session(getCookie(c, cookieName(c.req.header("host") ?? "")));

  app.get("/", (c) => {
    const session = sessionOf(c);
    if (!session) return c.html(loginPage(info, null), 401);
    return c.html(shellPage(info, session.csrf));
  });

  app.get("/ws", (c) => {
    const session = sessionOf(c);
    if (!session) return c.text("Log in first.\n", 401);
    if (!sameOrigin(c.req.header("origin"), c.req.header("host") ?? "")) {
      return c.text("Cross-origin WebSocket refused.\n", 403);
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.text("Expected a WebSocket upgrade.\n", 426);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    let conn: ReturnType<typeof openSocketSession> | null = null;
    const mine = sockets.get(session.id) ?? new Set();
    sockets.set(session.id, mine.add(socket));
    const forget = () => {
      conn?.close();
      mine.delete(socket);
      if (mine.size === 0 && sockets.get(session.id) === mine) sockets.delete(session.id);
    };
    socket.onopen = () => {
      conn = openSocketSession(service, (m) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(m));
      });
    };
    socket.onmessage = (e) => conn?.receive(e.data);
    socket.onclose = forget;
    socket.onerror = forget;
    return response;
  });

  // Every API call needs the session; every state change also needs our exact Origin and the
  // session's CSRF token in a header (which a cross-origin form cannot set).
  app.use("/api/*", async (c, next) => {
    const session = sessionOf(c);
    if (!session) return c.json({ error: "Log in with the link `wirken run` printed." }, 401);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      if (!sameOrigin(c.req.header("origin"), c.req.header("host") ?? "")) {
        return c.json({ error: "Cross-origin request refused." }, 403);
      }
      if (c.req.header("x-wirken-csrf") !== session.csrf) {
        return c.json({ error: "Missing or wrong CSRF token." }, 403);
      }
    }
    c.set("csrf", session.csrf);
    await next();
  });

  /** Runs a service read and turns its failure into a 503 the page can show. */
  const read = async (c: Context, f: () => unknown) => {
    try {
      return c.json(await f());
    } catch (e) {
      return c.json({ error: errorText(e) }, 503);
    }
  };

  app.get("/api/agents", (c) => read(c, () => service.agents()));
  app.get("/api/sessions", (c) => {
    const q = SessionsQuerySchema.safeParse(c.req.query());
    if (!q.success) return c.json({ error: "Bad query." }, 400);
    return read(c, () => service.sessions(q.data.agent));
  });
  app.get("/api/sessions/:id/transcript", (c) => {
    const id = SessionIdSchema.safeParse(c.req.param("id"));
    if (!id.success) return c.json({ error: "Bad session id." }, 400);
    return read(c, () => service.transcript(id.data));
  });
  app.get("/api/approvals", (c) => read(c, () => service.pendingApprovals()));
  app.get("/api/status", (c) => read(c, () => service.status()));
  app.get("/api/audit", (c) => {
    const q = AuditQuerySchema.safeParse(c.req.query());
    if (!q.success) return c.json({ error: "Bad query." }, 400);
    return read(c, () => service.audit(q.data.limit));
  });
  app.get("/api/permissions", (c) => read(c, () => service.permissions()));
  app.get("/api/credentials", (c) =>
    read(c, () =>
      // Rebuilt field by field so nothing but metadata can leave, whatever the service returns.
      service.credentials().map((r) => ({
        name: r.name,
        expiresAt: r.expiresAt,
        updatedAt: r.updatedAt,
      }))));

  app.post("/api/permissions/revoke", async (c) => {
    const body = RevokeSchema.safeParse(await readJson(c.req.raw.body));
    if (!body.success) return c.json({ error: "Expected {tool, agent}." }, 400);
    return read(c, async () => {
      await service.revokePermission(body.data.tool, body.data.agent);
      return { ok: true };
    });
  });

  app.post("/api/upload", async (c) => {
    const q = UploadQuerySchema.safeParse(c.req.query());
    if (!q.success) {
      return c.json({ error: `Bad upload: ${q.error.issues[0]?.message ?? "query"}` }, 400);
    }
    const tooBig = () =>
      c.json({ error: `File too large: at most ${formatBytes(maxUpload)}.` }, 413);
    const declared = Number(c.req.header("content-length") ?? "NaN");
    if (declared > maxUpload) return tooBig();
    const bytes = await readCapped(c.req.raw.body, maxUpload);
    if (!bytes) return tooBig();
    return read(c, async () => ({
      path: await service.upload(q.data.agent, q.data.name, bytes),
    }));
  });

  app.post("/api/logout", (c) => {
    const id = getCookie(c, cookieName(c.req.header("host") ?? ""));
    if (id) {
      auth.logout(id);
      for (const ws of sockets.get(id) ?? []) ws.close(4001, "logged out");
      sockets.delete(id);
    }
    setCookie(c, cookieName(c.req.header("host") ?? ""), "", {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: 0,
    });
    return c.json({ ok: true });
  });

  app.notFound((c) => c.text("Not found\n", 404));
  return app;
}

/** Largest JSON request body; the API's bodies are a few short strings. */
const MAX_JSON_BYTES = 16 * 1024;

/** Reads a small JSON body; `null` when it is too long or not JSON (the schema then refuses). */
async function readJson(body: ReadableStream<Uint8Array> | null): Promise<unknown> {
  const bytes = await readCapped(body, MAX_JSON_BYTES);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function head(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/app.css">`;
}

/** The page shown without a session: how to get in, and nothing else. */
function loginPage(info: WebChatInfo, problem: string | null): string {
  return `${head("wirken: log in")}</head>
<body class="plain"><main class="card"><h1>wirken ${escapeHtml(info.version)}</h1>
${problem ? `<p class="problem">${escapeHtml(problem)}</p>` : ""}
<p>The gateway is running. WebChat needs the login link that <code>wirken run</code> printed
(<code>WebChat: http://localhost:&lt;port&gt;/login?token=…</code>). Open that link in this
browser; it is new at every start of the gateway.</p></main></body></html>`;
}

/** The single-page app's shell; `app.js` builds everything inside `#app`. */
function shellPage(info: WebChatInfo, csrf: string): string {
  return `${head("wirken")}
<meta name="wirken-csrf" content="${escapeHtml(csrf)}">
<meta name="wirken-version" content="${escapeHtml(info.version)}">
<meta name="wirken-provider" content="${escapeHtml(info.provider ?? "")}">
<script type="module" src="/static/app.js"></script></head>
<body><div id="app"></div></body></html>`;
}
