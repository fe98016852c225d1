import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { ROOT, RUN_FLAGS, tempDataDir } from "../cli/helpers.ts";
import { fakeTelegram } from "../fakes/telegram.ts";
import { commandAvailable } from "../skip.ts";
import { importSigner, toBase64 } from "../../src/ipc/keys.ts";
import { openVault } from "../../src/vault/mod.ts";
import { fakeOpenAI } from "./fake_openai.ts";

const hasTmux = await commandAvailable("tmux", "apt-get install tmux", ["-V"]);
const GOOD = "sk-good-wizard-81c2";

async function tmux(...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** A `wirken setup` running in a real terminal. */
async function startWizard(
  session: string,
  dataDir: string,
  extraEnv: Record<string, string> = {},
): Promise<void> {
  const env = [
    `NO_COLOR=1 WIRKEN_DATA_DIR=${dataDir} WIRKEN_VAULT_BACKEND=passphrase WIRKEN_VAULT_PASSPHRASE=pw-123456`,
    ...Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`),
  ].join(" ");
  const cmd = `env ${env} ${Deno.execPath()} run ${
    RUN_FLAGS.join(" ")
  } ${ROOT}main.ts setup; echo "EXIT:$?"; sleep 60`;
  await tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "50", cmd);
}

async function waitFor(
  session: string,
  text: string,
  // Generous: the machine is shared, and a cold `deno run` under load can take a while.
  timeoutMs = 60_000,
  times = 1,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux("capture-pane", "-p", "-t", session, "-S", "-200");
    if (screen.split(text).length > times) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${JSON.stringify(text)}; screen:\n${screen}`);
}

const keys = (session: string, ...k: string[]) => tmux("send-keys", "-t", session, ...k);

Deno.test({
  name: "setup wizard in a real terminal: happy path, wrong key re-asked, Ctrl+C changes nothing",
  ignore: !hasTmux,
}, async () => {
  const fake = fakeOpenAI(GOOD);
  const dataDir = await tempDataDir();
  const s1 = `wirken-wizard-${crypto.randomUUID().slice(0, 8)}`;
  const s2 = `${s1}-b`;
  try {
    await startWizard(s1, dataDir);
    await waitFor(s1, "Provider");
    // "Custom endpoint" is the last of the eight providers.
    for (let i = 0; i < 7; i++) await keys(s1, "Down");
    await keys(s1, "Enter");
    await waitFor(s1, "Model");
    await keys(s1, "-l", "gpt-4o");
    await keys(s1, "Enter");
    await waitFor(s1, "Base URL");
    await keys(s1, "-l", fake.baseUrl);
    await keys(s1, "Enter");
    await waitFor(s1, "API key");
    await keys(s1, "-l", "sk-wrong");
    await keys(s1, "Enter");
    await waitFor(s1, "Enter it again");
    await keys(s1, "-l", GOOD);
    await keys(s1, "Enter");
    await waitFor(s1, "Space: select");
    await keys(s1, "Enter"); // no channel in step 2
    const done = await waitFor(s1, "EXIT:");
    assertStringIncludes(done, "EXIT:0");
    assertStringIncludes(done, "API key encrypted and stored.");
    assertStringIncludes(done, "Channels: none yet");
    assertStringIncludes(done, "Provider: custom (gpt-4o)");
    assertFalse(done.includes(GOOD), "the key is never echoed");
    assertEquals(fake.seen.slice(-2), ["Bearer sk-wrong", `Bearer ${GOOD}`]);
    const before = await Deno.readTextFile(`${dataDir}/config.json`);
    assertEquals(JSON.parse(before).provider.baseUrl, fake.baseUrl);

    // Re-running edits the setup; Ctrl+C halfway leaves the saved config byte for byte.
    await startWizard(s2, dataDir);
    await waitFor(s2, "editing your current setup");
    await keys(s2, "Enter");
    await waitFor(s2, "Model");
    await keys(s2, "C-c");
    const cancelled = await waitFor(s2, "EXIT:");
    assertStringIncludes(cancelled, "nothing was changed");
    assertEquals(await Deno.readTextFile(`${dataDir}/config.json`), before);
  } finally {
    await tmux("kill-session", "-t", s1);
    await tmux("kill-session", "-t", s2);
    await fake.close();
  }
});

/** Every file under `dir` with its bytes, so "untouched" can be checked byte for byte. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await snapshot(path)) out.set(k, v); }
    else if (e.isFile) out.set(path, new TextDecoder("latin1").decode(await Deno.readFile(path)));
  }
  return out;
}

/** Goes through step 1 choosing the custom provider at `baseUrl` with `key`. */
async function providerStep(session: string, baseUrl: string, key: string): Promise<void> {
  await waitFor(session, "Provider");
  for (let i = 0; i < 7; i++) await keys(session, "Down");
  await keys(session, "Enter");
  await waitFor(session, "Model");
  await keys(session, "C-u");
  await keys(session, "-l", "gpt-4o");
  await keys(session, "Enter");
  await waitFor(session, "Base URL");
  await keys(session, "C-u");
  await keys(session, "-l", baseUrl);
  await keys(session, "Enter");
  await waitFor(session, "API key");
  await keys(session, "-l", key);
  await keys(session, "Enter");
}

Deno.test({
  name:
    "setup wizard step 2 in a real terminal: Telegram picked, a refused token asked again, key pair and token saved at the end; Ctrl+C in step 2 changes nothing",
  ignore: !hasTmux,
}, async () => {
  const fake = fakeOpenAI(GOOD);
  const tg = fakeTelegram("4242:good-telegram-token");
  const dataDir = await tempDataDir();
  const env = { TELEGRAM_API_ROOT: tg.url };
  const s1 = `wirken-wizard-ch-${crypto.randomUUID().slice(0, 8)}`;
  const s2 = `${s1}-b`;
  const s3 = `${s1}-c`;
  try {
    await startWizard(s1, dataDir, env);
    await providerStep(s1, fake.baseUrl, GOOD);
    const step2 = await waitFor(s1, "Step 2: Pick your channels");
    assertStringIncludes(step2, "Custom (OpenAI-compatible) answered.");
    await waitFor(s1, "Telegram");
    // Nothing is written before the last step, even after the provider check passed.
    assertFalse(await Deno.stat(`${dataDir}/config.json`).then(() => true, () => false));
    assertFalse(await Deno.stat(`${dataDir}/vault.db`).then(() => true, () => false));
    // Telegram is the first option: Space ticks it, Enter confirms.
    await keys(s1, "Space");
    await keys(s1, "Enter");
    await waitFor(s1, "Telegram token");
    await keys(s1, "-l", "4242:wrong-token");
    await keys(s1, "Enter");
    const refused = await waitFor(s1, "What now with Telegram?");
    assertStringIncludes(refused, "Telegram refused the bot token");
    await keys(s1, "Enter"); // "Enter the credentials again"
    // The re-ask is a second token prompt below the first.
    await waitFor(s1, "Telegram token (Bot token from @BotFather)", 60_000, 2);
    await keys(s1, "-l", tg.token);
    await keys(s1, "Enter");
    await waitFor(s1, "Owner:");
    await keys(s1, "-l", "99887766");
    await keys(s1, "Enter");
    const done = await waitFor(s1, "EXIT:");
    assertStringIncludes(done, "EXIT:0");
    assertStringIncludes(done, "accepted them (bot @wirken_test_bot)");
    assertStringIncludes(done, "API key encrypted and stored.");
    assertStringIncludes(
      done,
      "telegram: token encrypted, adapter keypair generated, registered",
    );
    assertStringIncludes(done, "Setup complete!");
    assertStringIncludes(done, "Provider: custom (gpt-4o)");
    assertStringIncludes(done, "Channels: telegram");
    for (const secret of [GOOD, tg.token, "wrong-token"]) {
      assertFalse(done.includes(secret), "no secret is echoed");
    }
    // The live check saw the wrong token, then the right one.
    const getMe = tg.calls.filter((c) => c.method === "getMe");
    assertEquals(getMe.length, 1, "only the accepted token reached the fake's getMe handler");

    const config = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
    assertEquals(config.provider.kind, "custom");
    assertEquals(config.channels.telegram.allowFrom, ["99887766"]);
    assertEquals(config.channels.telegram.enabled, true);
    assert(
      config.routes.some((r: { channel: string }) => r.channel === "telegram"),
      "telegram is routed to an agent",
    );
    const vault = await openVault({
      dataDir,
      env: {
        get: (k: string) =>
          ({ WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "pw-123456" })[k],
      },
      create: false,
    });
    try {
      assertEquals(vault.get("channel.telegram.token")?.reveal(), tg.token);
      assertEquals(vault.get("provider.custom.api_key")?.reveal(), GOOD);
      const seed = vault.get("channel.telegram.adapter_key");
      assert(seed, "the adapter's private key is in the vault");
      // The public key in config is the one of the private key in the vault.
      assertEquals(
        toBase64((await importSigner(seed)).publicKey),
        config.channels.telegram.publicKey,
      );
    } finally {
      vault.close();
    }

    // Re-running shows the current setup; a new key typed in step 1 and Ctrl+C at the token
    // prompt of step 2 leave every file of the data dir byte for byte as it was.
    const before = await snapshot(dataDir);
    await startWizard(s2, dataDir, env);
    await waitFor(s2, "editing your current setup");
    await waitFor(s2, "Provider");
    await keys(s2, "Enter"); // the current provider is preselected
    await waitFor(s2, "Model");
    await keys(s2, "Enter");
    await waitFor(s2, "Base URL");
    await keys(s2, "Enter");
    await waitFor(s2, "Enter keeps the stored key");
    await keys(s2, "-l", GOOD);
    await keys(s2, "Enter");
    const picker = await waitFor(s2, "configured");
    assertStringIncludes(picker, "Step 2: Pick your channels");
    await keys(s2, "Enter"); // Telegram stays ticked
    await waitFor(s2, "Enter keeps the stored one");
    await keys(s2, "-l", "4242:half-typed");
    await keys(s2, "C-c");
    const cancelled = await waitFor(s2, "EXIT:");
    assertStringIncludes(cancelled, "EXIT:130");
    assertStringIncludes(cancelled, "nothing was changed");
    const after = await snapshot(dataDir);
    assertEquals([...after.keys()].sort(), [...before.keys()].sort());
    for (const [path, bytes] of before) {
      assert(after.get(path) === bytes, `${path} changed after Ctrl+C`);
    }

    // A third run keeps everything with Enter: the stored key and token, the same key pair.
    await startWizard(s3, dataDir, env);
    await waitFor(s3, "editing your current setup");
    await waitFor(s3, "Provider");
    await keys(s3, "Enter");
    await waitFor(s3, "Model");
    await keys(s3, "Enter");
    await waitFor(s3, "Base URL");
    await keys(s3, "Enter");
    await waitFor(s3, "Enter keeps the stored key");
    await keys(s3, "Enter");
    await waitFor(s3, "configured");
    await keys(s3, "Enter");
    await waitFor(s3, "Enter keeps the stored one");
    await keys(s3, "Enter");
    const kept = await waitFor(s3, "EXIT:");
    assertStringIncludes(kept, "EXIT:0");
    assertStringIncludes(kept, "telegram: kept as it is.");
    assertStringIncludes(kept, "Channels: telegram");
    assertEquals(fake.seen.at(-1), `Bearer ${GOOD}`, "the stored key was checked live");
    const keptConfig = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
    assertEquals(keptConfig.channels.telegram, config.channels.telegram);
    assertEquals(keptConfig.provider, config.provider);
  } finally {
    await tmux("kill-session", "-t", s1);
    await tmux("kill-session", "-t", s2);
    await tmux("kill-session", "-t", s3);
    await fake.close();
    await tg.close();
  }
});

Deno.test({
  name:
    "setup wizard: Ctrl+C while a channel's token is being checked stops setup and writes nothing",
  ignore: !hasTmux,
}, async () => {
  const fake = fakeOpenAI(GOOD);
  // A Telegram that never answers, so the check is still running when Ctrl+C comes.
  const pending: (() => void)[] = [];
  const hanging = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Promise<Response>((resolve) =>
        pending.push(() => resolve(new Response("gone", { status: 503 })))
      ),
  );
  const dataDir = await tempDataDir();
  const s = `wirken-wizard-spin-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await startWizard(s, dataDir, { TELEGRAM_API_ROOT: `http://127.0.0.1:${hanging.addr.port}` });
    await providerStep(s, fake.baseUrl, GOOD);
    await waitFor(s, "Space: select");
    await keys(s, "Space");
    await keys(s, "Enter");
    await waitFor(s, "Telegram token");
    await keys(s, "-l", "4242:some-token");
    await keys(s, "Enter");
    await waitFor(s, "Checking the Telegram credentials");
    await keys(s, "C-c");
    const screen = await waitFor(s, "EXIT:");
    assertStringIncludes(screen, "EXIT:130");
    assertStringIncludes(screen, "nothing was changed");
    assertFalse(await Deno.stat(`${dataDir}/config.json`).then(() => true, () => false));
    assertFalse(await Deno.stat(`${dataDir}/vault.db`).then(() => true, () => false));
  } finally {
    await tmux("kill-session", "-t", s);
    for (const release of pending) release();
    await hanging.shutdown();
    await fake.close();
  }
});
