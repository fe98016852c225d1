/**
 * `wirken ask` as a user runs it: a real process, a fake OpenAI-compatible server, a fresh
 * data directory, the key from the environment.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { commandAvailable } from "../skip.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { startFakeServer } from "../providers/fake_server.ts";
import { openaiFixture } from "../providers/openai_fixture.ts";
import { KEY } from "../providers/harness.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function ask(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-check", join(ROOT, "main.ts"), "ask", ...args],
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "ask: streams the answer from a provider chosen by flags; rate limit holds across runs",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const server = startFakeServer((r) => openaiFixture.checkRequest(r));
    try {
      await Deno.writeTextFile(
        join(dir, "config.json"),
        JSON.stringify({ version: 1, limits: { messagesPerMinute: 2 } }),
      );
      const env = { WIRKEN_DATA_DIR: dir, WIRKEN_API_KEY: KEY };
      const flags = ["--provider", "custom", "--base-url", `${server.url}/v1`, "--model", "m1"];
      server.push(openaiFixture.textStream("Hallo 🌍"), openaiFixture.textStream("Zweite"));
      const first = await ask([...flags, "hi", "there"], env);
      assertEquals(first.code, 0, first.stderr);
      assertEquals(first.stdout, "Hallo 🌍\n");
      const body = JSON.parse(server.requests[0].body);
      assertEquals(body.model, "m1");
      assertEquals(body.messages.at(-1), { role: "user", content: "hi there" });

      const second = await ask([...flags, "--json", "again"], env);
      assertEquals(second.code, 0, second.stderr);
      const json = JSON.parse(second.stdout);
      assertEquals(json.status, "answered");
      assertEquals(json.text, "Zweite");
      assertEquals(json.session, "cli:terminal:default");
      // The second ask carried the first exchange as history.
      const sent = JSON.parse(server.requests[1].body).messages;
      assertEquals(sent.filter((m: { role: string }) => m.role === "user").length, 2);

      const third = await ask([...flags, "more"], env);
      assertEquals(third.code, 1);
      assertStringIncludes(third.stderr, "You are sending messages faster");
      assertEquals(server.requests.length, 2, "the limited ask never reached the provider");
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ask: a bad key is a short error with a fix; http to a remote host is refused",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const server = startFakeServer();
    try {
      server.push({ status: 401, chunks: [`{"error":"${KEY}"}`] });
      const env = { WIRKEN_DATA_DIR: dir, WIRKEN_API_KEY: KEY };
      const r = await ask(
        ["--provider", "custom", "--base-url", `${server.url}/v1`, "--model", "m", "hi"],
        env,
      );
      assertEquals(r.code, 1);
      assertStringIncludes(r.stderr, "rejected the API key");
      assert(!r.stderr.includes(KEY) && !r.stdout.includes(KEY));
      const insecure = await ask(
        ["--provider", "custom", "--base-url", "http://example.com/v1", "--model", "m", "hi"],
        env,
      );
      assertEquals(insecure.code, 1);
      assertStringIncludes(insecure.stderr, "Refusing");
      const noModel = await ask(["--provider", "openai", "hi"], { ...env, WIRKEN_PROVIDER: "" });
      assertEquals(noModel.code, 2);
      assertStringIncludes(noModel.stderr, "--model is required");
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const hasBwrap = await commandAvailable("bwrap", "apt-get install bubblewrap");

Deno.test({
  name:
    "ask: tools run under the chat rules: tier 1 runs, exec is denied in a non-interactive terminal",
  ignore: !hasBwrap,
}, async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "workspace/default"), { recursive: true });
  await Deno.writeTextFile(join(dir, "workspace/default/notes.txt"), "the notes say 42");
  const model = fakeChat((n) =>
    n === 0
      ? {
        calls: [{ name: "read_file", args: { path: "notes.txt" } }, {
          name: "exec",
          args: { command: "ls" },
        }],
      }
      : { text: "done" }
  );
  try {
    const r = await ask([
      "--provider",
      "custom",
      "--base-url",
      model.baseUrl,
      "--model",
      "m",
      "look",
    ], {
      WIRKEN_DATA_DIR: dir,
      WIRKEN_API_KEY: KEY,
    });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "needs approval (tier 2), and this terminal is not interactive");
    // The model got the file (tier 1 ran) and the refusal of exec (which never ran).
    const results = (model.requests[1].messages as { role: string; content: string }[])
      .filter((m) => m.role === "tool").map((m) => m.content);
    assertEquals(results, ["the notes say 42", "The user did not allow exec to run this time."]);
  } finally {
    await model.close();
  }
});

Deno.test("ask: an expired provider key is refused with the command that rotates it", async () => {
  const model = fakeChat(() => ({ text: "should not be asked" }));
  const dir = await Deno.makeTempDir();
  const env = {
    WIRKEN_DATA_DIR: dir,
    WIRKEN_VAULT_BACKEND: "passphrase",
    WIRKEN_VAULT_PASSPHRASE: "pw-expired-key",
  };
  try {
    await Deno.writeTextFile(
      join(dir, "config.json"),
      JSON.stringify({
        provider: {
          kind: "custom",
          model: "m",
          baseUrl: model.baseUrl,
          credential: "provider.custom.api_key",
        },
      }),
    );
    const { openVault } = await import("../../src/vault/mod.ts");
    const { Secret } = await import("../../src/secret.ts");
    const vault = await openVault({ dataDir: dir, env: new Map(Object.entries(env)) });
    vault.set("provider.custom.api_key", new Secret("sk-old-key"), {
      expiresAt: new Date(Date.now() - 1000),
    });
    vault.close();
    const r = await ask(["hello"], env);
    assertEquals(r.code, 1, r.stdout);
    assertStringIncludes(r.stderr, 'Credential "provider.custom.api_key" expired');
    assertStringIncludes(r.stderr, "wirken credentials rotate provider.custom.api_key");
    assertEquals(model.requests.length, 0);
  } finally {
    await model.close();
  }
});
