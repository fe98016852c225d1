/**
 * WebChat as the gateway serves it today: behind the login link the gateway exposes, answering
 * through the not-connected service until the agent runtime is wired in.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { startGateway } from "../../src/gateway/gateway.ts";
import { NOT_CONNECTED } from "../../src/webchat/unavailable.ts";

Deno.test("webchat via the gateway: login link works; a turn says the agent is not connected", async () => {
  const dataDir = `${await Deno.makeTempDir({ prefix: "wirken-webchat-" })}/data`;
  const gw = await startGateway({ dataDir, port: 0, version: "0.0.0-test", terminalLog: false });
  try {
    assertMatch(gw.webchatLoginUrl, /^http:\/\/localhost:\d+\/login\?token=[A-Za-z0-9_-]{43}$/);
    const login = await fetch(gw.webchatLoginUrl, { redirect: "manual" });
    assertEquals(login.status, 303);
    await login.body?.cancel();
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const agents = await fetch(`${gw.webchatUrl}/api/agents`, { headers: { cookie } });
    assertEquals(await agents.json(), []);
    const ws = new WebSocket(`ws://localhost:${gw.port}/ws`, {
      headers: { cookie, origin: gw.webchatUrl },
    });
    const texts: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === "event" && m.event.type === "error") texts.push(m.event.message);
        if (m.type === "turn_end") resolve();
      };
      ws.onerror = () => reject(new Error("socket error"));
    });
    await new Promise((r) => (ws.onopen = r));
    ws.send(JSON.stringify({ type: "send", turn: "t1", agent: "default", text: "hi" }));
    await ended;
    assertEquals(texts, [NOT_CONNECTED]);
    const closed = new Promise((r) => (ws.onclose = r));
    ws.close();
    await closed;
    const audit = await (await fetch(`${gw.webchatUrl}/api/audit`, { headers: { cookie } })).json();
    assertEquals(audit.verified.ok, false);
    assertStringIncludes(audit.verified.detail, "not connected");
  } finally {
    await gw.close();
  }
});
