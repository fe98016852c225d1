import { assert, assertEquals, assertFalse, assertMatch, assertStringIncludes } from "../assert.ts";
import { startGateway, tempDataDir, wirken } from "./helpers.ts";
import { fakeChat } from "../fakes/openai_chat.ts";

Deno.test("cli: --version and --help exit 0", async () => {
  const dataDir = await tempDataDir();
  const v = await wirken(["--version"], { dataDir });
  assertEquals(v.code, 0);
  assertMatch(v.stdout, /^wirken \d+\.\d+\.\d+\n$/);
  const h = await wirken(["--help"], { dataDir });
  assertEquals(h.code, 0);
  assertStringIncludes(h.stdout, "credentials");
  const sub = await wirken(["audit", "verify", "--help"], { dataDir });
  assertEquals(sub.code, 0);
  assertStringIncludes(sub.stdout, "Example");
});

Deno.test("cli: unknown command prints one error line plus the closest command, exit 2", async () => {
  const r = await wirken(["stauts"], { dataDir: await tempDataDir() });
  assertEquals(r.code, 2);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 2);
  assertStringIncludes(lines[0], "unknown command `stauts`");
  assertStringIncludes(lines[1], "wirken status");
  assertFalse(r.stderr.includes("    at "), "no stack trace");
});

Deno.test("cli: bad flag and bad flag value exit 2", async () => {
  const dataDir = await tempDataDir();
  const flag = await wirken(["doctor", "--jsno"], { dataDir });
  assertEquals(flag.code, 2);
  assertStringIncludes(flag.stderr, "did you mean --json?");
  const value = await wirken(["run", "--port", "99999"], { dataDir });
  assertEquals(value.code, 2);
  assertStringIncludes(value.stderr, "--port must be a port number");
  const env = await wirken(["run"], { dataDir, env: { WIRKEN_PORT: "http" } });
  assertEquals(env.code, 2);
  assertStringIncludes(env.stderr, "WIRKEN_PORT must be a port number");
});

Deno.test("run: starts, serves WebChat on loopback, prints the banner, stops on SIGTERM", async () => {
  const dataDir = await tempDataDir();
  const gw = await startGateway({ dataDir });
  try {
    // Without the printed login link, the page only says how to get in.
    const res = await fetch(gw.url + "/");
    assertEquals(res.status, 401);
    assertStringIncludes(await res.text(), "wirken");
    const health = await (await fetch(gw.url + "/healthz")).json();
    assertEquals(health.ok, true);
    const out = gw.output();
    for (
      const part of [
        "wirken gateway",
        "Provider: none configured",
        "Route: webchat -> agent:default",
        "Socket:",
        "WebChat: http://localhost:",
      ]
    ) {
      assertStringIncludes(out, part);
    }
  } finally {
    assertEquals(await gw.stop("SIGTERM"), 0);
  }
  assertStringIncludes(gw.output(), "Gateway stopped.");
  // Private data directory, created by run.
  for (const d of ["", "/sockets", "/skills", "/workspace", "/logs"]) {
    assertEquals(((await Deno.stat(dataDir + d)).mode ?? 0) & 0o777, 0o700, d);
  }
  assertEquals(((await Deno.stat(dataDir + "/logs/wirken.log")).mode ?? 0) & 0o777, 0o600);
});

Deno.test("run: Ctrl+C (SIGINT) also stops cleanly", async () => {
  const gw = await startGateway({ dataDir: await tempDataDir() });
  assertEquals(await gw.stop("SIGINT"), 0);
});

Deno.test("run: refuses requests whose Host is not loopback (DNS rebinding)", async () => {
  const gw = await startGateway({ dataDir: await tempDataDir() });
  try {
    // fetch() will not send a forged Host header, so speak HTTP over a raw socket.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(gw.url).port) });
    await conn.write(
      new TextEncoder().encode(
        "GET / HTTP/1.1\r\nHost: attacker.example:18790\r\nConnection: close\r\n\r\n",
      ),
    );
    let raw = "";
    for await (const chunk of conn.readable) raw += new TextDecoder().decode(chunk);
    assertStringIncludes(raw.split("\r\n")[0], "421");
    const ok = await fetch(gw.url + "/");
    assertEquals(ok.headers.get("x-frame-options"), "DENY");
    assert(ok.headers.get("content-security-policy")?.includes("default-src 'none'"));
    await ok.body?.cancel();
  } finally {
    await gw.stop();
  }
});

Deno.test("run: port from config, overridden by WIRKEN_PORT, overridden by --port", async () => {
  const dataDir = await tempDataDir();
  const ports = await Promise.all([0, 0, 0].map(() => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const p = (l.addr as Deno.NetAddr).port;
    l.close();
    return p;
  }));
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({ webchat: { port: ports[0] } }),
  );
  let gw = await startGateway({ dataDir, args: [] });
  assertStringIncludes(gw.url, `:${ports[0]}`);
  await gw.stop();
  gw = await startGateway({ dataDir, args: [], env: { WIRKEN_PORT: String(ports[1]) } });
  assertStringIncludes(gw.url, `:${ports[1]}`);
  await gw.stop();
  gw = await startGateway({
    dataDir,
    args: ["--port", String(ports[2])],
    env: { WIRKEN_PORT: String(ports[1]) },
  });
  assertStringIncludes(gw.url, `:${ports[2]}`);
  await gw.stop();
});

Deno.test("run: two gateways side by side with their own data dirs; a taken port is a clear error", async () => {
  const a = await startGateway({ dataDir: await tempDataDir() });
  const b = await startGateway({ dataDir: await tempDataDir() });
  try {
    assert(a.url !== b.url);
    const port = new URL(a.url).port;
    const clash = await wirken(["run", "--port", port], { dataDir: await tempDataDir() });
    assertEquals(clash.code, 1);
    assertStringIncludes(clash.stderr, `Port ${port} on 127.0.0.1 is already in use`);
    assertStringIncludes(clash.stderr, "fix:");
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("run: a bad config.json gives path, field and fix, never a stack trace", async () => {
  const dataDir = await tempDataDir();
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({ provider: { kind: "gpt", model: "x" } }),
  );
  const r = await wirken(["run", "--port", "0"], { dataDir });
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, `${dataDir}/config.json is invalid`);
  assertStringIncludes(r.stderr, "provider.kind");
  assertStringIncludes(r.stderr, "fix:");
  assertFalse(r.stderr.includes("    at "));
});

Deno.test("run: with a provider configured the banner names it", async () => {
  const dataDir = await tempDataDir();
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({ provider: { kind: "ollama", model: "llama3.2" } }),
  );
  const gw = await startGateway({ dataDir });
  await gw.stop();
  assertStringIncludes(gw.output(), "Provider: ollama/llama3.2");
});

Deno.test("data dir: loose permissions are tightened by run and reported by doctor", async () => {
  const dataDir = await tempDataDir();
  await Deno.mkdir(`${dataDir}/logs`, { recursive: true });
  await Deno.chmod(dataDir, 0o755);
  await Deno.writeTextFile(`${dataDir}/config.json`, "{}");
  await Deno.chmod(`${dataDir}/config.json`, 0o644);
  const before = await wirken(["doctor", "--json"], { dataDir });
  assertEquals(before.code, 1);
  const report = JSON.parse(before.stdout);
  const byName = Object.fromEntries(
    report.checks.map((c: { check: string; status: string }) => [c.check, c.status]),
  );
  assertEquals(byName["data dir"], "fail");
  assertEquals(byName["data files"], "fail");

  const gw = await startGateway({ dataDir });
  await gw.stop();
  assertEquals(((await Deno.stat(dataDir)).mode ?? 0) & 0o777, 0o700);
});

Deno.test("doctor: prints a table with a fix column and exits 0 without failures", async () => {
  const dataDir = await tempDataDir();
  const r = await wirken(["doctor"], { dataDir });
  assertStringIncludes(r.stdout, "CHECK");
  assertStringIncludes(r.stdout, "FIX");
  for (const c of ["deno", "sqlite", "keychain", "bubblewrap", "docker", "provider"]) {
    assertStringIncludes(r.stdout, c);
  }
  assertEquals(r.code, 0, r.stdout + r.stderr);
});

Deno.test("run and doctor: warn about a credential expiring within 14 days", async () => {
  const dataDir = await tempDataDir();
  const env = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "pw-for-expiry-test" };
  const add = await wirken(["credentials", "add", "channel.telegram.token", "--expires", "3d"], {
    dataDir,
    env,
    stdin: "123456:ABCDEF\n",
  });
  assertEquals(add.code, 0, add.stderr);
  const gw = await startGateway({ dataDir, env });
  await gw.stop();
  assertStringIncludes(gw.output(), "channel.telegram.token");
  const doctor = await wirken(["doctor", "--json"], { dataDir, env });
  const row = JSON.parse(doctor.stdout).checks.find((c: { check: string }) =>
    c.check === "credentials"
  );
  assertEquals(row.status, "warn");
  assertStringIncludes(row.detail, "channel.telegram.token");
});

Deno.test("run: without a terminal, keychain or passphrase the vault stays locked and says how to unlock", async () => {
  const gw = await startGateway({
    dataDir: await tempDataDir(),
    env: { WIRKEN_VAULT_BACKEND: "passphrase" },
  });
  try {
    const res = await fetch(gw.url + "/healthz");
    assertEquals(res.status, 200);
    await res.body?.cancel();
  } finally {
    await gw.stop();
  }
  assertStringIncludes(gw.output(), "Vault: LOCKED, no messages are processed.");
  assertStringIncludes(gw.output(), "WIRKEN_VAULT_PASSPHRASE");
});

Deno.test("run: with the passphrase the vault opens and the audit log starts (signed head)", async () => {
  const dataDir = await tempDataDir();
  const env = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "pw-run-audit" };
  const gw = await startGateway({ dataDir, env });
  await gw.stop();
  assertStringIncludes(gw.output(), "Vault: passphrase");
  const verify = await wirken(["audit", "verify", "--json"], { dataDir, env });
  assertEquals(verify.code, 0, verify.stdout + verify.stderr);
  const list = await wirken(["credentials", "list", "--json"], { dataDir, env });
  assertStringIncludes(list.stdout, "audit.signing_key");
  // A wrong passphrase is an error, not a locked start.
  const wrong = await wirken(["run", "--port", "0"], {
    dataDir,
    env: { ...env, WIRKEN_VAULT_PASSPHRASE: "not-it" },
  });
  assertEquals(wrong.code, 1);
  assertStringIncludes(wrong.stderr.toLowerCase(), "passphrase");
});

Deno.test("run: --provider/--model override config for this run only; WIRKEN_* env works too", async () => {
  const dataDir = await tempDataDir();
  let gw = await startGateway({
    dataDir,
    args: ["--port", "0", "--provider", "ollama", "--model", "qwen3"],
  });
  await gw.stop();
  assertStringIncludes(gw.output(), "Provider: ollama/qwen3");
  assertFalse(await Deno.stat(`${dataDir}/config.json`).then(() => true, () => false));
  gw = await startGateway({ dataDir, env: { WIRKEN_PROVIDER: "ollama", WIRKEN_MODEL: "phi4" } });
  await gw.stop();
  assertStringIncludes(gw.output(), "Provider: ollama/phi4");
});

Deno.test("run: the banner's WebChat line is a login link; without it WebChat refuses", async () => {
  const gw = await startGateway({ dataDir: await tempDataDir() });
  try {
    const link = /WebChat: (http:\/\/localhost:\d+\/login\?token=\S+)/.exec(gw.output())?.[1];
    assert(link, gw.output());
    const denied = await fetch(gw.url + "/");
    assertEquals(denied.status, 401);
    await denied.body?.cancel();
    const login = await fetch(link.replace("localhost", "127.0.0.1"), { redirect: "manual" });
    assertEquals(login.status, 303);
    await login.body?.cancel();
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const page = await fetch(gw.url + "/", { headers: { cookie } });
    assertEquals(page.status, 200);
    await page.body?.cancel();
  } finally {
    await gw.stop();
  }
});

Deno.test("status: shows SIEM lag and why a destination is held", async () => {
  const dataDir = await tempDataDir();
  const env = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "pw-status-siem" };
  const model = fakeChat(() => ({ text: "hi" }));
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({
      provider: { kind: "custom", model: "m", baseUrl: model.baseUrl },
      siem: { destinations: [{ name: "hook", kind: "webhook", url: "http://127.0.0.1:9/in" }] },
    }),
  );
  try {
    // First start creates the vault; `ask` then records events the SIEM has not received.
    await (await startGateway({ dataDir, env })).stop();
    const asked = await wirken(["ask", "hello"], { dataDir, env: { ...env, WIRKEN_API_KEY: "k" } });
    assertEquals(asked.code, 0, asked.stderr);
    const gw = await startGateway({ dataDir, env });
    try {
      // The webhook's HMAC secret is not in the vault: the destination is held, not skipped.
      let hook: { state: string; lagEvents: number; lastError: string | null } | undefined;
      for (let i = 0; i < 50 && hook?.state !== "held"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        hook = JSON.parse((await wirken(["status", "--json"], { dataDir, env })).stdout).siem[0];
      }
      assertEquals(hook?.state, "held");
      assert((hook?.lagEvents ?? 0) > 0);
      assertStringIncludes(hook?.lastError ?? "", "siem.hook");
      const text = await wirken(["status"], { dataDir, env });
      assertStringIncludes(text.stdout, "SIEM");
      assertStringIncludes(text.stdout, "held");
    } finally {
      await gw.stop();
    }
  } finally {
    await model.close();
  }
  const text = await wirken(["status"], { dataDir, env });
  assertStringIncludes(text.stdout, "The gateway is not running");
});
