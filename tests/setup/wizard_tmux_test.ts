import { assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { ROOT, RUN_FLAGS, tempDataDir } from "../cli/helpers.ts";
import { commandAvailable } from "../skip.ts";
import { fakeOpenAI } from "./fake_openai.ts";

const hasTmux = await commandAvailable("tmux", "apt-get install tmux", ["-V"]);
const GOOD = "sk-good-wizard-81c2";

async function tmux(...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** A `wirken setup` running in a real terminal. */
async function startWizard(session: string, dataDir: string): Promise<void> {
  const env =
    `NO_COLOR=1 WIRKEN_DATA_DIR=${dataDir} WIRKEN_VAULT_BACKEND=passphrase WIRKEN_VAULT_PASSPHRASE=pw-123456`;
  const cmd = `env ${env} ${Deno.execPath()} run ${
    RUN_FLAGS.join(" ")
  } ${ROOT}main.ts setup; echo "EXIT:$?"; sleep 60`;
  await tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "50", cmd);
}

async function waitFor(session: string, text: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux("capture-pane", "-p", "-t", session, "-S", "-200");
    if (screen.includes(text)) return screen;
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
    const done = await waitFor(s1, "EXIT:");
    assertStringIncludes(done, "EXIT:0");
    assertStringIncludes(done, "API key encrypted and stored.");
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
