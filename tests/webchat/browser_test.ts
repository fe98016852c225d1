/**
 * WebChat in a real headless Chromium: login, streaming, stop, approvals, hostile output, upload,
 * panels. The service behind it is the scripted fake in fake_service.ts.
 */
import { assert, assertEquals, assertFalse, assertMatch, assertStringIncludes } from "../assert.ts";
import { Buffer } from "node:buffer";
import { artifactDir, browserTest } from "./browser.ts";

/** Polls `check` (every 50 ms, at most 10 s): waitForFunction would need eval, which our CSP bans. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met within 10 s");
}

browserTest("login link, streamed Markdown answer, code copy, screenshot", async (env) => {
  const { page, server } = env;
  // Without the link: the 401 page, no app.
  const denied = await page.goto(server.url + "/");
  assertEquals(denied?.status(), 401);
  assertEquals(await page.locator("#app").count(), 0);

  env.errors.length = 0; // Chromium logs the 401 of the page itself.
  await env.login();
  // The token left the address bar.
  assertEquals(page.url(), server.url + "/");
  assertMatch(await page.locator("[data-testid=agent]").inputValue(), /^default$/);

  await page.fill("[data-testid=input]", "hello there");
  await page.press("[data-testid=input]", "Enter");
  const answer = page.locator("[data-testid=msg-assistant]").last();
  // Streaming: the message exists (marked streaming) before the answer is complete.
  await page.waitForSelector("[data-testid=msg-assistant].streaming");
  await page.waitForSelector("[data-testid=msg-assistant]:not(.streaming)");
  assertStringIncludes(await answer.innerText(), "Hello! You said: hello there.");
  assertEquals(await answer.locator("em").innerText(), "hello there");
  assertEquals(await answer.locator("pre code").innerText(), "const answer = 42;");
  assertStringIncludes(await page.locator("[data-testid=msg-notice]").innerText(), "fake provider");
  assertEquals(server.service.record.sends[0].agent, "default");

  // Copy button puts the code on the clipboard.
  await env.context.grantPermissions(["clipboard-read", "clipboard-write"], {
    origin: server.url,
  });
  await answer.locator("[data-testid=copy]").click();
  await page.waitForSelector("[data-testid=copy]:text('Copied')");
  assertEquals(await page.evaluate("navigator.clipboard.readText()"), "const answer = 42;");

  // The new conversation shows in the list; a second message continues it.
  await page.waitForSelector("[data-testid=session].current");
  await page.fill("[data-testid=input]", "again");
  await page.click("[data-testid=send]");
  await page.locator("[data-testid=msg-assistant]:not(.streaming)").nth(1).waitFor();
  assertEquals(server.service.record.sends[1].sessionId, "s-new-1");

  const shot = `${await artifactDir()}/webchat-chat.png`;
  await page.screenshot({ path: shot, fullPage: true });
  Deno.stderr.writeSync(new TextEncoder().encode(`webchat screenshot: ${shot}\n`));
  assertEquals(env.errors, []);
});

browserTest("stop cancels the turn mid-stream and the abort reaches the service", async (env) => {
  const { page, server } = env;
  await env.login();
  await page.fill("[data-testid=input]", "slow answer please");
  await page.click("[data-testid=send]");
  await page.locator("[data-testid=msg-assistant]", { hasText: "word2" }).waitFor();
  await page.click("[data-testid=stop]");
  await page.waitForSelector("[data-testid=stopped]");
  assertEquals(server.service.record.aborted, ["slow answer please"]);
  const words = server.service.words;
  await new Promise((r) => setTimeout(r, 300));
  assertEquals(server.service.words, words, "no text after stop");
  assert(await page.locator("[data-testid=stop]").isHidden());
  assertFalse(await page.locator("[data-testid=send]").isDisabled());
  assertEquals(env.errors, []);
});

browserTest("approval dialog: tier 2 approved for 30 days, result shown", async (env) => {
  const { page, server } = env;
  await env.login();
  await page.fill("[data-testid=input]", "tool run ls");
  await page.click("[data-testid=send]");
  const dialog = page.locator("[data-testid=approval-dialog]");
  await dialog.waitFor({ state: "visible" });
  assertEquals(await dialog.locator("[data-testid=approval-tool]").innerText(), "exec");
  assertStringIncludes(await dialog.locator("[data-testid=approval-tier]").innerText(), "2");
  assertEquals(await dialog.locator("[data-testid=approval-sandbox]").innerText(), "bwrap");
  const args = await dialog.locator("[data-testid=approval-args]").innerText();
  assertStringIncludes(args, '"command": "ls -la /workspace"');
  assertStringIncludes(args, "<b>not markup</b>", "arguments are shown as text");
  await page.screenshot({ path: `${await artifactDir()}/webchat-approval.png` });
  await dialog.locator("[data-testid=approve-remember]").click();
  await dialog.waitFor({ state: "hidden" });
  await page.waitForSelector("[data-testid=msg-assistant]:not(.streaming)");
  assertStringIncludes(
    await page.locator("[data-testid=msg-assistant]").innerText(),
    "Approved (remember)",
  );
  assertStringIncludes(await page.locator("[data-testid=tool-result]").innerText(), "3 files");
  assertEquals(server.service.record.decisions.map((d) => d.decision), ["remember"]);
  assertEquals(env.errors, []);
});

browserTest("approval dialog: tier 3 offers no 30-day option; deny", async (env) => {
  const { page, server } = env;
  await env.login();
  await page.fill("[data-testid=input]", "danger zone");
  await page.click("[data-testid=send]");
  const dialog = page.locator("[data-testid=approval-dialog]");
  await dialog.waitFor({ state: "visible" });
  assertEquals(await dialog.locator("[data-testid=approve-remember]").count(), 0);
  await dialog.locator("[data-testid=deny]").click();
  await page.waitForSelector("[data-testid=msg-assistant]:not(.streaming)");
  assertStringIncludes(await page.locator("[data-testid=tool-result]").innerText(), "denied");
  assertEquals(server.service.record.decisions.map((d) => d.decision), ["deny"]);
});

browserTest("pending approvals from other channels appear live and can be decided", async (env) => {
  const { page, server } = env;
  await env.login();
  server.service.addExternalApproval({ id: "tg-1", tool: "web_fetch", channel: "telegram" });
  const dialog = page.locator("[data-testid=approval-dialog]");
  await dialog.waitFor({ state: "visible" });
  assertEquals(await dialog.locator("[data-testid=approval-channel]").innerText(), "telegram");
  await dialog.locator("[data-testid=decide-later]").click();
  await dialog.waitFor({ state: "hidden" });
  assertEquals(await page.locator("[data-testid=approval-count]").innerText(), "1");
  await page.click("[data-testid=tab-approvals]");
  const card = page.locator("[data-testid=pending-approval]");
  assertStringIncludes(await card.innerText(), "web_fetch");
  await card.locator("[data-testid=approve-once]").click();
  await page.waitForSelector("[data-testid=approval-count]", { state: "hidden" });
  assertEquals(server.service.record.decisions, [{ id: "tg-1", decision: "once" }]);
});

browserTest("hostile model output, titles and audit rows stay inert text", async (env) => {
  const { page } = env;
  await env.login();
  await page.fill("[data-testid=input]", "xss");
  await page.click("[data-testid=send]");
  await page.waitForSelector("[data-testid=msg-assistant]:not(.streaming)");
  await page.fill("[data-testid=input]", "fail");
  await page.click("[data-testid=send]");
  await page.waitForSelector("[data-testid=msg-error]");
  // Old conversation with a hostile title and transcript.
  await page.click("[data-testid=session][data-session=s-old]");
  await page.waitForSelector("text=What is 2+2?");
  await page.click("[data-testid=tab-audit]");
  await page.waitForSelector("[data-testid=audit]");
  await page.click("[data-testid=tab-adapters]");
  await page.waitForSelector("[data-testid=adapters]");
  await page.click("[data-testid=tab-chat]");
  // Give any injected handler the chance to fire.
  await page.waitForTimeout(300);
  // Browser-side code is passed as a string: this file is type-checked without the DOM lib.
  // (page.evaluate goes through the DevTools protocol, which the page's CSP does not govern.)
  const result = await page.evaluate(`({
    pwned: globalThis.__pwned ?? null,
    imgs: document.querySelectorAll("img, script:not([src]), svg, iframe").length,
    jsLinks: [...document.querySelectorAll("a")].filter((a) =>
      !/^(https?|mailto):/.test(a.href)
    ).length,
    handlers: [...document.querySelectorAll("*")].filter((e) =>
      [...e.attributes].some((a) => a.name.startsWith("on"))
    ).length,
  })`);
  assertEquals(result, { pwned: null, imgs: 0, jsLinks: 0, handlers: 0 });
  // The markup is visible as text instead. Sessions list, transcript and audit show it too.
  const body = await page.locator("body").innerText();
  assertStringIncludes(body, "<img src=x onerror=");
  assertStringIncludes(body, "Earlier chat <img src=x");
  assertStringIncludes(body, "<b>not bold</b>");
  await page.click("[data-testid=tab-audit]");
  assertStringIncludes(await page.locator("[data-testid=audit]").innerText(), "exec <img src=x");
  // CSP would have reported any blocked inline script; Trusted Types any HTML sink.
  assertEquals(env.errors, []);
  // The CSP really is enforced by the browser: an HTML-string sink throws (Trusted Types), and
  // an injected inline script does not run.
  const sinks = await page.evaluate(`(() => {
    const out = {};
    try { document.body.insertAdjacentHTML("beforeend", "<b>x</b>"); out.html = "allowed"; }
    catch (e) { out.html = e.name; }
    const s = document.createElement("script");
    try { s.text = "window.__inline = 1"; document.body.append(s); out.script = "appended"; }
    catch (e) { out.script = e.name; }
    out.ran = globalThis.__inline ?? null;
    return out;
  })()`);
  assertEquals(sinks, { html: "TypeError", script: "TypeError", ran: null });
});

browserTest("file upload lands in the workspace; oversize is refused", async (env) => {
  const { page, server } = env;
  await env.login();
  await page.setInputFiles("[data-testid=file]", {
    name: "report.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("quarterly numbers"),
  });
  await page.waitForSelector("text=Uploaded report.txt to the workspace: uploads/report.txt");
  assertEquals(server.service.record.uploads.length, 1);
  assertEquals(
    new TextDecoder().decode(server.service.record.uploads[0].bytes),
    "quarterly numbers",
  );
  assertStringIncludes(await page.locator("[data-testid=input]").inputValue(), "uploads/report");
  await page.setInputFiles("[data-testid=file]", {
    name: "huge.bin",
    mimeType: "application/octet-stream",
    buffer: Buffer.alloc(5000),
  });
  await page.waitForSelector("[data-testid=msg-error]:has-text('File too large')");
  assertEquals(server.service.record.uploads.length, 1);
}, { maxUploadBytes: 4096 });

browserTest("panels: adapters, audit chain, permissions revoke, credential names", async (env) => {
  const { page, server } = env;
  await env.login();
  await page.click("[data-testid=tab-adapters]");
  const adapters = await page.locator("[data-testid=adapters]").innerText();
  assertStringIncludes(adapters, "telegram");
  assertStringIncludes(adapters, "backoff");
  await page.click("[data-testid=tab-audit]");
  assertStringIncludes(
    await page.locator("[data-testid=audit-chain]").innerText(),
    "Hash chain verified",
  );
  await page.click("[data-testid=tab-permissions]");
  await page.waitForSelector("[data-testid=revoke]");
  assertEquals(await page.locator("[data-testid=revoke]").count(), 2);
  await page.locator("[data-testid=revoke]").first().click();
  await until(async () => (await page.locator("[data-testid=revoke]").count()) === 1);
  assertEquals(server.service.record.revoked, [{ tool: "exec", agent: "default" }]);
  await page.click("[data-testid=tab-credentials]");
  const creds = await page.locator("[data-testid=credentials]").innerText();
  assertStringIncludes(creds, "openai_api_key");
  assertStringIncludes(creds, "never");
  assertStringIncludes(creds, "telegram_bot_token");
  await page.screenshot({ path: `${await artifactDir()}/webchat-credentials.png` });
  assertEquals(env.errors, []);
});

browserTest("a WebSocket opened from another origin is refused", async (env) => {
  const { page, server, browser } = env;
  await env.login();
  // A second site (another loopback port) tries to hijack the logged-in session's socket.
  const evil = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response("<!doctype html><title>evil</title>", {
        headers: { "content-type": "text/html" },
      }),
  );
  try {
    const other = await page.context().newPage();
    await other.goto(`http://127.0.0.1:${evil.addr.port}/`);
    const outcome = await other.evaluate((target) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(target);
        ws.onopen = () => resolve("open");
        ws.onerror = () => resolve("refused");
      }), `ws://127.0.0.1:${server.port}/ws`);
    assertEquals(outcome, "refused");
    // And a cross-origin POST with the cookie does nothing.
    const status = await other.evaluate((target) =>
      fetch(target, {
        method: "POST",
        credentials: "include",
        mode: "no-cors",
        body: JSON.stringify({ tool: "exec", agent: "default" }),
      }).then(() => "sent", () => "blocked"), `${server.url}/api/permissions/revoke`);
    assert(status === "sent" || status === "blocked");
    assertEquals(server.service.record.revoked, []);
  } finally {
    await evil.shutdown();
  }
  assert(browser.isConnected());
});

browserTest("agent switch, old conversations, logout ends every tab's session", async (env) => {
  const { page, server, context } = env;
  await env.login();
  await page.click("[data-testid=session][data-session=s-tg]");
  await page.waitForSelector("text=hi from telegram");
  await page.selectOption("[data-testid=agent]", "research");
  await until(async () => (await page.locator("[data-testid=session]").count()) === 0);
  await page.fill("[data-testid=input]", "for research");
  await page.click("[data-testid=send]");
  await page.waitForSelector("[data-testid=msg-assistant]:not(.streaming)");
  assertEquals(server.service.record.sends.at(-1)?.agent, "research");
  assertEquals(server.service.record.sends.at(-1)?.sessionId, undefined);

  const other = await context.newPage();
  await other.goto(server.url + "/");
  await other.waitForSelector("[data-testid=connection].ok");
  await other.click("text=Log out");
  await other.waitForSelector("text=login link");
  // The first tab's socket was cut and it says why instead of retrying forever.
  await page.waitForSelector("text=This WebChat session has ended");
  assertEquals((await page.goto(server.url + "/"))?.status(), 401);
});
