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

Deno.test("webchat via the gateway: a model repeating the vault's key is redacted on the way out", async () => {
  const canary = "sk-canary-4f9a1c7e2b8d6f0a3e5c";
  const model = fakeChat(() => ({ text: `Sure, the key is ${canary} as you asked.` }));
  const dataDir = await newDataDir({
    provider: {
      kind: "custom",
      model: "fake-model",
      baseUrl: model.baseUrl,
      credential: "provider.custom.api_key",
    },
  });
  const env = new Map(Object.entries({ ...ENV, HOME: Deno.env.get("HOME") ?? "/tmp" }));
  const { openVault } = await import("../../src/vault/mod.ts");
  const { Secret } = await import("../../src/secret.ts");
  const vault = await openVault({ dataDir, env });
  vault.set("provider.custom.api_key", new Secret(canary));
  vault.close();
  const gw = await startGateway({
    dataDir,
    port: 0,
    version: "0.0.0-test",
    terminalLog: false,
    env,
  });
  try {
    const cookie = await login(gw.webchatLoginUrl);
    const events = await turn(gw.port, gw.webchatUrl, cookie, "what is my key?");
    const text = events.filter((e) => e.type === "text").map((e) => e.text).join("");
    assert(!text.includes(canary), text);
    assertStringIncludes(text, "[REDACTED:provider.custom.api_key]");
    const audit = await (await fetch(`${gw.webchatUrl}/api/audit`, { headers: { cookie } })).json();
    assert(audit.events.some((e: { kind: string }) => e.kind === "leak.blocked"));
  } finally {
    await gw.close();
    await model.close();
  }
  // Nothing under the data directory holds the key in clear (logs, sessions, audit).
  for await (const e of Deno.readDir(dataDir)) {
    if (!e.isFile || e.name === "vault.db") continue;
    const text = new TextDecoder("latin1").decode(await Deno.readFile(`${dataDir}/${e.name}`));
    assert(!text.includes(canary), `${e.name} holds the key`);
  }
  const log = await Deno.readTextFile(`${dataDir}/logs/wirken.log`);
  assert(!log.includes(canary));
});
