/**
 * WebChat's defences over real HTTP and WebSocket, without a browser: login, cookies, Host,
 * Origin, CSRF, CSP, upload limits.
 */
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { login, rawHttp, startTestServer, wsHandshake } from "./server.ts";
import { CSP } from "../../src/webchat/app.ts";

Deno.test("webchat: without the login token everything but /healthz is 401", async () => {
  const s = startTestServer();
  try {
    const page = await fetch(s.url + "/");
    assertEquals(page.status, 401);
    const body = await page.text();
    assertStringIncludes(body, "login link");
    assertFalse(body.includes(s.auth.loginToken), "the page never shows the token");
    for (const path of ["/api/agents", "/api/audit", "/api/credentials", "/api/sessions"]) {
      const r = await fetch(s.url + path);
      assertEquals(r.status, 401, path);
      await r.body?.cancel();
    }
    const wrong = await fetch(`${s.url}/login?token=${"A".repeat(43)}`, { redirect: "manual" });
    assertEquals(wrong.status, 401);
    assertEquals(wrong.headers.get("set-cookie"), null);
    await wrong.body?.cancel();
    const none = await fetch(`${s.url}/login`, { redirect: "manual" });
    assertEquals(none.status, 401);
    await none.body?.cancel();
    // A made-up cookie is no session either.
    const forged = await fetch(s.url + "/api/agents", {
      headers: { cookie: `wirken_session_${s.port}=${"B".repeat(43)}` },
    });
    assertEquals(forged.status, 401);
    await forged.body?.cancel();
    const health = await fetch(s.url + "/healthz");
    assertEquals(health.status, 200);
    await health.body?.cancel();
  } finally {
    await s.close();
  }
});

Deno.test("webchat: the login link sets an HttpOnly SameSite=Strict cookie and redirects", async () => {
  const s = startTestServer();
  try {
    const res = await fetch(s.loginUrl, { redirect: "manual" });
    assertEquals(res.status, 303);
    assertEquals(res.headers.get("location"), "/");
    const cookie = res.headers.get("set-cookie") ?? "";
    assertStringIncludes(cookie, `wirken_session_${s.port}=`);
    assertStringIncludes(cookie, "HttpOnly");
    assertStringIncludes(cookie, "SameSite=Strict");
    assertStringIncludes(cookie, "Path=/");
    assertFalse(cookie.includes(s.auth.loginToken), "the cookie is a session id, not the token");
    await res.body?.cancel();
    const { cookie: c, csrf } = await login(s);
    assert(csrf.length > 20);
    const agents = await fetch(s.url + "/api/agents", { headers: { cookie: c } });
    assertEquals(agents.status, 200);
    assertEquals((await agents.json()).length, 2);
    // The page shell: no inline script, only our module file.
    const html = await (await fetch(s.url + "/", { headers: { cookie: c } })).text();
    assertFalse(/<script(?![^>]*\bsrc=)/.test(html), "no inline <script>");
    assertFalse(/\son\w+=/.test(html), "no inline event handlers");
  } finally {
    await s.close();
  }
});

Deno.test("webchat: strict CSP and security headers on every response", async () => {
  const s = startTestServer();
  try {
    const { cookie } = await login(s);
    for (const path of ["/", "/static/app.js", "/api/agents", "/healthz", "/nope"]) {
      const r = await fetch(s.url + path, { headers: { cookie } });
      await r.body?.cancel();
      assertEquals(r.headers.get("content-security-policy"), CSP, path);
      assertEquals(r.headers.get("x-frame-options"), "DENY", path);
      assertEquals(r.headers.get("x-content-type-options"), "nosniff", path);
    }
    assertStringIncludes(CSP, "default-src 'none'");
    assertStringIncludes(CSP, "script-src 'self'");
    assertStringIncludes(CSP, "require-trusted-types-for 'script'");
    assertFalse(CSP.includes("unsafe-inline"));
    assertFalse(CSP.includes("unsafe-eval"));
    const js = await (await fetch(s.url + "/static/app.js")).text();
    assertFalse(/\beval\s*\(|new Function\s*\(|innerHTML|outerHTML|insertAdjacentHTML/.test(js));
  } finally {
    await s.close();
  }
});

Deno.test("webchat: a foreign Host header is refused (DNS rebinding)", async () => {
  const s = startTestServer();
  try {
    const raw = await rawHttp(
      s.port,
      `GET /healthz HTTP/1.1\r\nHost: attacker.example:${s.port}\r\nConnection: close\r\n\r\n`,
    );
    assertStringIncludes(raw.split("\r\n")[0], "421");
  } finally {
    await s.close();
  }
});

Deno.test("webchat: WebSocket needs the session and our exact Origin", async () => {
  const s = startTestServer();
  try {
    const { cookie } = await login(s);
    const origin = `http://127.0.0.1:${s.port}`;
    const status = async (headers: Record<string, string>) =>
      (await rawHttp(s.port, wsHandshake(s.port, headers))).split("\r\n")[0];
    assertStringIncludes(await status({ Origin: origin }), "401");
    assertStringIncludes(await status({ Cookie: cookie }), "403");
    assertStringIncludes(await status({ Cookie: cookie, Origin: "http://evil.example" }), "403");
    // Same site, other port: SameSite lets the cookie through, the Origin check does not.
    assertStringIncludes(await status({ Cookie: cookie, Origin: "http://127.0.0.1:3000" }), "403");
    assertStringIncludes(await status({ Cookie: cookie, Origin: "null" }), "403");
    assertStringIncludes(await status({ Cookie: cookie, Origin: origin }), "101");
  } finally {
    await s.close();
  }
});

Deno.test("webchat: a logged-in WebSocket streams a turn end to end", async () => {
  const s = startTestServer({ wordDelayMs: 1 });
  try {
    const { cookie } = await login(s);
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws`, {
      headers: { cookie, origin: `http://127.0.0.1:${s.port}` },
    });
    const messages: { type: string; event?: { type: string; text?: string } }[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        messages.push(m);
        if (m.type === "turn_end") resolve();
      };
      ws.onerror = () => reject(new Error("socket error"));
    });
    await new Promise((r) => (ws.onopen = r));
    ws.send(JSON.stringify({ type: "send", turn: "t1", agent: "default", text: "hello" }));
    await ended;
    const text = messages.filter((m) => m.event?.type === "text").map((m) => m.event?.text).join(
      "",
    );
    assertStringIncludes(text, "You said: *hello*");
    const closed = new Promise((r) => (ws.onclose = r));
    ws.close();
    await closed;
  } finally {
    await s.close();
  }
});

Deno.test("webchat: state-changing requests need our Origin and the CSRF header", async () => {
  const s = startTestServer();
  try {
    const { cookie, csrf } = await login(s);
    const origin = `http://127.0.0.1:${s.port}`;
    const revoke = (headers: Record<string, string>) =>
      fetch(s.url + "/api/permissions/revoke", {
        method: "POST",
        headers: { cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify({ tool: "exec", agent: "default" }),
      });
    const attempts: Record<string, string>[] = [
      {},
      { "x-wirken-csrf": csrf },
      { origin: "http://evil.example", "x-wirken-csrf": csrf },
      { origin: "http://localhost:3000", "x-wirken-csrf": csrf },
      { origin },
      { origin, "x-wirken-csrf": "wrong" },
    ];
    for (const headers of attempts) {
      const r = await revoke(headers);
      assertEquals(r.status, 403, JSON.stringify(headers));
      await r.body?.cancel();
    }
    assertEquals(s.service.record.revoked, []);
    const ok = await revoke({ origin, "x-wirken-csrf": csrf });
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
    assertEquals(s.service.record.revoked, [{ tool: "exec", agent: "default" }]);
    const bad = await fetch(s.url + "/api/permissions/revoke", {
      method: "POST",
      headers: { cookie, origin, "x-wirken-csrf": csrf },
      body: JSON.stringify({ tool: "exec", agent: "default", extra: true }),
    });
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
    const huge = await fetch(s.url + "/api/permissions/revoke", {
      method: "POST",
      headers: { cookie, origin, "x-wirken-csrf": csrf },
      body: JSON.stringify({ tool: "x".repeat(100_000), agent: "default" }),
    });
    assertEquals(huge.status, 400);
    await huge.body?.cancel();
  } finally {
    await s.close();
  }
});

Deno.test("webchat: uploads are size-capped and take a plain file name", async () => {
  const s = startTestServer({ maxUploadBytes: 1024 });
  try {
    const { cookie, csrf } = await login(s);
    const headers = {
      cookie,
      origin: `http://127.0.0.1:${s.port}`,
      "x-wirken-csrf": csrf,
      "content-type": "application/octet-stream",
    };
    const up = (name: string, body: BodyInit, agent = "default") =>
      fetch(`${s.url}/api/upload?${new URLSearchParams({ agent, name })}`, {
        method: "POST",
        headers,
        body,
      });
    const ok = await up("notes.txt", "hello");
    assertEquals(ok.status, 200);
    assertEquals(await ok.json(), { path: "uploads/notes.txt" });
    assertEquals(new TextDecoder().decode(s.service.record.uploads[0].bytes), "hello");
    const big = await up("big.bin", new Uint8Array(1025));
    assertEquals(big.status, 413);
    await big.body?.cancel();
    // A streamed body without Content-Length is cut off at the cap too.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(512));
        c.close();
      },
    });
    const streamed = await up("stream.bin", stream);
    assertEquals(streamed.status, 413);
    await streamed.body?.cancel();
    for (const name of ["../etc/passwd", "a/b", "..", "a\\b", "bad\x00name", ""]) {
      const r = await up(name, "x");
      assertEquals(r.status, 400, JSON.stringify(name));
      await r.body?.cancel();
    }
    const agent = await up("x.txt", "x", "Not An Agent");
    assertEquals(agent.status, 400);
    await agent.body?.cancel();
    assertEquals(s.service.record.uploads.length, 1);
  } finally {
    await s.close();
  }
});

Deno.test("webchat: credentials API sends metadata only, whatever the service returns", async () => {
  const s = startTestServer();
  const original = s.service.credentials;
  s.service.credentials = () =>
    original().map((c) => ({ ...c, value: "sk-live-SECRET" } as typeof c));
  try {
    const { cookie } = await login(s);
    const text = await (await fetch(s.url + "/api/credentials", { headers: { cookie } })).text();
    assertFalse(text.includes("SECRET"));
    assertStringIncludes(text, "telegram_bot_token");
  } finally {
    await s.close();
  }
});

Deno.test("webchat: logout ends the session (with CSRF, like every POST)", async () => {
  const s = startTestServer();
  try {
    const { cookie, csrf } = await login(s);
    const origin = `http://127.0.0.1:${s.port}`;
    const forged = await fetch(s.url + "/api/logout", { method: "POST", headers: { cookie } });
    assertEquals(forged.status, 403);
    await forged.body?.cancel();
    const out = await fetch(s.url + "/api/logout", {
      method: "POST",
      headers: { cookie, origin, "x-wirken-csrf": csrf },
    });
    assertEquals(out.status, 200);
    assertStringIncludes(out.headers.get("set-cookie") ?? "", "Max-Age=0");
    await out.body?.cancel();
    const after = await fetch(s.url + "/api/agents", { headers: { cookie } });
    assertEquals(after.status, 401);
    await after.body?.cancel();
  } finally {
    await s.close();
  }
});
