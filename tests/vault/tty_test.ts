/**
 * The interactive paths on a real terminal (tmux): the hidden value prompt does not echo, a new
 * vault asks for its passphrase twice, `show --reveal` asks before printing, `remove` confirms.
 * Skipped loudly when tmux is missing.
 */
import { assert, assertFalse, assertStringIncludes } from "../assert.ts";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { tempDir } from "./helpers.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const hasTmux = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();
if (!hasTmux) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      "\n*** SKIPPING the vault terminal (TTY) test: tmux is not installed (apt-get install tmux).\n\n",
    ),
  );
}

const VALUE = "tty-canary-value-93e1";
const PASS = "tty test passphrase";

Deno.test({
  name: "tty: hidden prompts, passphrase asked twice, --reveal and remove confirm",
  ignore: !hasTmux,
  async fn() {
    const t = await tempDir();
    const sock = join(t.path, "tmux.sock");
    const tmux = (...args: string[]) =>
      new Deno.Command("tmux", { args: ["-S", sock, ...args], stdout: "piped", stderr: "piped" })
        .output();
    const pane = async () =>
      new TextDecoder().decode((await tmux("capture-pane", "-p", "-t", "w")).stdout);
    const waitFor = async (text: string) => {
      const end = Date.now() + 30_000;
      while (Date.now() < end) {
        const p = await pane();
        if (p.includes(text)) return p;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${JSON.stringify(text)}; pane:\n${await pane()}`);
    };
    const send = (...keys: string[]) => tmux("send-keys", "-t", "w", ...keys);
    const run = async (args: string) => {
      await tmux("kill-session", "-t", "w").catch(() => {});
      const env = [
        `WIRKEN_DATA_DIR='${join(t.path, "data")}'`,
        `HOME='${join(t.path, "home")}'`,
        `DENO_DIR='${Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`}'`,
        "WIRKEN_VAULT_BACKEND=passphrase",
        "NO_COLOR=1",
      ].join(" ");
      const cmd =
        `env -u WIRKEN_VAULT_PASSPHRASE ${env} '${Deno.execPath()}' run -A '${MAIN}' credentials ${args}; echo "EXIT=$?"; sleep 120`;
      const r = await tmux("new-session", "-d", "-s", "w", "-x", "200", "-y", "50", cmd);
      assert(r.success, new TextDecoder().decode(r.stderr));
    };
    try {
      // A new vault: passphrase twice, then the value, none of it echoed.
      await run("add provider.openai.api_key");
      await waitFor("New vault passphrase:");
      await send(PASS, "Enter");
      await waitFor("Repeat the vault passphrase:");
      await send(PASS, "Enter");
      await waitFor("Value for provider.openai.api_key:");
      await send(VALUE, "Enter");
      let p = await waitFor("EXIT=");
      assertStringIncludes(p, "Stored provider.openai.api_key");
      assertStringIncludes(p, "EXIT=0");
      assertFalse(p.includes(VALUE), "the value was echoed");
      assertFalse(p.includes(PASS), "the passphrase was echoed");

      // --reveal declined: nothing printed.
      await run("show provider.openai.api_key --reveal");
      await waitFor("Vault passphrase:");
      await send(PASS, "Enter");
      await waitFor("[y/N]");
      await send("n", "Enter");
      p = await waitFor("EXIT=");
      assertStringIncludes(p, "Not revealed.");
      assertFalse(p.includes(VALUE));

      // --reveal confirmed: the value, on the terminal only.
      await run("show provider.openai.api_key --reveal");
      await waitFor("Vault passphrase:");
      await send(PASS, "Enter");
      await waitFor("[y/N]");
      await send("y", "Enter");
      p = await waitFor("EXIT=");
      assertStringIncludes(p, VALUE);
      assertStringIncludes(p, "EXIT=0");

      // Listing needs no passphrase (names and dates are not secret).
      await run("list");
      p = await waitFor("EXIT=");
      assertStringIncludes(p, "provider.openai.api_key");
      assertFalse(p.includes("passphrase:"));

      // A wrong passphrase typed at the prompt.
      await run("rekey");
      await waitFor("Vault passphrase:");
      await send("not it at all", "Enter");
      p = await waitFor("EXIT=");
      assertStringIncludes(p, "does not unlock");
      assertStringIncludes(p, "EXIT=1");

      // remove asks first.
      await run("remove provider.openai.api_key");
      await waitFor("Vault passphrase:");
      await send(PASS, "Enter");
      await waitFor("cannot be undone");
      await send("y", "Enter");
      p = await waitFor("EXIT=");
      assertStringIncludes(p, "Removed provider.openai.api_key.");
    } finally {
      await tmux("kill-server").catch(() => {});
      await t.cleanup();
    }
  },
});
