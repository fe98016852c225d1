import { assert, assertEquals, assertFalse } from "../../tests/assert.ts";
import { adapterGrants } from "../../adapters/shared/manifests.ts";
import {
  ADAPTER_V8_FLAGS,
  childEnv,
  isCompiled,
  isSecretEnv,
  launchPlan,
  RestartPolicy,
} from "./supervisor.ts";

Deno.test("backoff: 1 s doubling to 60 s, gives up at the 8th failure in a row", () => {
  const p = new RestartPolicy();
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    const d = p.onExit(1000);
    assert(d.action === "restart");
    delays.push(d.delayMs);
  }
  assertEquals(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000]);
  assertEquals(p.onExit(1000), { action: "give-up" });
});

Deno.test("backoff: ten healthy minutes forget earlier failures", () => {
  const p = new RestartPolicy({ baseMs: 1000 });
  for (let i = 0; i < 6; i++) p.onExit(5_000);
  assertEquals(p.failures, 6);
  // Crashing after 10 minutes up counts as the first failure of a new run.
  assertEquals(p.onExit(10 * 60_000), { action: "restart", delayMs: 1000 });
  p.onExit(1);
  p.observeUptime(10 * 60_000);
  assertEquals(p.failures, 0);
});

Deno.test("compiled-mode detection", () => {
  assertFalse(isCompiled("/usr/bin/deno", "file:///work/main/src/gateway/supervisor.ts"));
  assert(isCompiled("/usr/local/bin/wirken", "file:///work/main/src/gateway/supervisor.ts"));
  assert(isCompiled("/usr/bin/deno", "file:///tmp/deno-compile-wirken/src/gateway/supervisor.ts"));
  assertFalse(isCompiled("C:\\deno\\deno.exe", "file:///C:/w/src/gateway/supervisor.ts"));
  assertFalse(isCompiled()); // the test runner is `deno`
});

Deno.test("launch plans: flags from source, worker when compiled", () => {
  const grants = adapterGrants("slack", "/d/sockets/gateway.sock", { get: () => undefined });
  assertEquals(grants.net, [
    "slack.com:443",
    "wss-primary.slack.com:443",
    "wss-backup.slack.com:443",
    "files.slack.com:443",
    "unix:/d/sockets/gateway.sock",
  ]);
  assertEquals(grants.read, ["/d/sockets/gateway.sock"]);
  assertEquals(grants.write, ["/d/sockets/gateway.sock"]);
  const base = { execPath: "/usr/bin/deno", mainModule: "/w/main.ts", configPath: "/w/deno.json" };
  const flags = launchPlan("slack", grants, { ...base, compiled: false, isolation: "process" });
  assertEquals(flags.isolation, "process");
  assertEquals(flags.args.slice(-3), ["/w/main.ts", "adapter", "slack"]);
  // Runtime flags only count before the module; after it they would be the adapter's own args.
  assert(flags.args.indexOf(ADAPTER_V8_FLAGS) > 0);
  assert(flags.args.indexOf(ADAPTER_V8_FLAGS) < flags.args.indexOf("/w/main.ts"));
  assert(flags.args.includes(`--allow-net=${grants.net.join(",")}`));
  assert(flags.args.includes("--allow-read=/d/sockets/gateway.sock"));
  assert(
    flags.args.includes(
      "--allow-env=HTTPS_PROXY,HTTP_PROXY,NO_PROXY,SLACK_API_URL,SLACK_GROUP_MODE,HOME,WIRKEN_DATA_DIR",
    ),
  );
  assert(!flags.args.some((a) => /^--allow-(run|sys|ffi|all)|^-A$/.test(a)));
  const compiled = launchPlan("slack", grants, {
    ...base,
    execPath: "/usr/local/bin/wirken",
    compiled: true,
    isolation: "process",
  });
  assertEquals(compiled, {
    command: "/usr/local/bin/wirken",
    args: ["adapter", "slack"],
    isolation: "worker",
  });
});

Deno.test("grants: an API base override and webhook port join the net grant", () => {
  const env = new Map([["TELEGRAM_API_ROOT", "http://127.0.0.1:8081/"], [
    "TEAMS_LISTEN_PORT",
    "4000",
  ]]);
  const tg = adapterGrants("telegram", "/s/g.sock", { get: (n) => env.get(n) });
  assert(tg.net.includes("127.0.0.1:8081"));
  const teams = adapterGrants("teams", "/s/g.sock", { get: (n) => env.get(n) });
  assert(teams.net.includes("127.0.0.1:4000"));
  const mx = adapterGrants("matrix", "/s/g.sock", {
    get: (n) => n === "MATRIX_HOMESERVER_URL" ? "https://matrix.example.org" : undefined,
  });
  assertEquals(mx.net, ["matrix.example.org:443", "unix:/s/g.sock"]);
});

Deno.test("child env: an allow-list, never WIRKEN_* or provider keys", () => {
  const env = childEnv({
    PATH: "/bin",
    HOME: "/h",
    WIRKEN_PASSPHRASE: "x",
    WIRKEN_DATA_DIR: "/d",
    OPENAI_API_KEY: "x",
    TELEGRAM_API_ROOT: "http://x",
    SLACK_API_URL: "http://y",
    RANDOM: "z",
  }, "telegram");
  assertEquals(env, {
    PATH: "/bin",
    HOME: "/h",
    TELEGRAM_API_ROOT: "http://x",
    DENO_NO_UPDATE_CHECK: "1",
  });
  for (
    const n of [
      "WIRKEN_X",
      "OPENAI_API_KEY",
      "ANTHROPIC_API_KEY",
      "AWS_SECRET_ACCESS_KEY",
      "GH_TOKEN",
      "DB_PASSWORD",
    ]
  ) {
    assert(isSecretEnv(n), n);
  }
  assertFalse(isSecretEnv("HTTPS_PROXY"));
});
