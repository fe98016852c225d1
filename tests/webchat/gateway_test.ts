/**
 * WebChat through the real gateway: login, then a turn that goes through the router and the
 * agent to a (fake) model and streams back; and the locked-vault start that refuses turns.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { startGateway } from "../../src/gateway/gateway.ts";
import { fakeChat } from "../fakes/openai_chat.ts";

const ENV = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "webchat-e2e-pass" };

async function newDataDir(config?: unknown): Promise<string> {
  const dataDir = `${await Deno.makeTempDir({ prefix: "wirken-webchat-" })}/data`;
  if (config) {
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(`${dataDir}/config.json`, JSON.stringify(config));
  }
  return dataDir;
}

async function login(loginUrl: string): Promise<string> {
  const res = await fetch(loginUrl, { redirect: "manual" });
  assertEquals(res.status, 303);
  await res.body?.cancel();
  return (res.headers.get("set-cookie") ?? "").split(";")[0];
}

/** Sends one message over the WebSocket and collects the events until the turn ends. */
async function turn(port: number, origin: string, cookie: string, text: string) {
  const ws = new WebSocket(`ws://localhost:${port}/ws`, { headers: { cookie, origin } });
  const events: { type: string; [k: string]: unknown }[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "event") events.push(m.event);
      if (m.type === "turn_end") resolve();
    };
    ws.onerror = () => reject(new Error("socket error"));
  });
  await new Promise((r) => (ws.onopen = r));
  ws.send(JSON.stringify({ type: "send", turn: "t1", agent: "default", text }));
  await ended;
  const closed = new Promise((r) => (ws.onclose = r));
  ws.close();
  await closed;
  return events;
}

Deno.test("webchat via the gateway: a turn goes through the router to the model and streams back", async () => {
  const model = fakeChat(() => ({ text: "Hello from the fake model." }));
  const dataDir = await newDataDir({
    provider: { kind: "custom", model: "fake-model", baseUrl: model.baseUrl },
  });
  const gw = await startGateway({
    dataDir,
    port: 0,
    version: "0.0.0-test",
    terminalLog: false,
    env: new Map(Object.entries({ ...ENV, HOME: Deno.env.get("HOME") ?? "/tmp" })),
  });
  try {
    assertMatch(gw.webchatLoginUrl, /^http:\/\/localhost:\d+\/login\?token=[A-Za-z0-9_-]{43}$/);
    const cookie = await login(gw.webchatLoginUrl);
    const agents = await (await fetch(`${gw.webchatUrl}/api/agents`, { headers: { cookie } }))
      .json();
    assertEquals(agents.map((a: { id: string }) => a.id), ["default"]);
    const events = await turn(gw.port, gw.webchatUrl, cookie, "hi there");
    const text = events.filter((e) => e.type === "text").map((e) => e.text).join("");
    assertEquals(text, "Hello from the fake model.");
    const session = events.find((e) => e.type === "session")?.sessionId as string;
    assertMatch(session, /^webchat:[0-9a-f-]{36}:default$/);
    // The model saw the user's message.
    assertStringIncludes(JSON.stringify(model.requests[0]), "hi there");
    // The conversation is stored and listed; the audit log has the message and verifies.
    const sessions = await (await fetch(`${gw.webchatUrl}/api/sessions`, { headers: { cookie } }))
      .json();
    assert(sessions.some((s: { id: string }) => s.id === session));
    const audit = await (await fetch(`${gw.webchatUrl}/api/audit`, { headers: { cookie } })).json();
    assertEquals(audit.verified.ok, true, audit.verified.detail);
    assert(audit.events.some((e: { kind: string }) => e.kind === "message.in"));
  } finally {
    await gw.close();
    await model.close();
  }
});

Deno.test("webchat via the gateway: with the vault locked, turns are refused and say why", async () => {
  const gw = await startGateway({
    dataDir: await newDataDir(),
    port: 0,
    version: "0.0.0-test",
    terminalLog: false,
    env: new Map([["WIRKEN_VAULT_BACKEND", "passphrase"]]),
  });
  try {
    assert(gw.locked);
    const cookie = await login(gw.webchatLoginUrl);
    const events = await turn(gw.port, gw.webchatUrl, cookie, "hi");
    const errors = events.filter((e) => e.type === "error").map((e) => String(e.message));
    assertEquals(errors.length, 1);
    assertStringIncludes(errors[0], "The vault is locked");
  } finally {
    await gw.close();
  }
});
