/**
 * Reading a secret from the user, as the user does it: `wirken credentials add` on a real
 * pseudo-terminal (util-linux `script`) and with piped stdin. Editing keys, Ctrl-C, Ctrl-D, an
 * oversized value, empty input and a mistyped repeat of a new passphrase must each end with a
 * clear message and nothing stored; the typed value must never be echoed.
 */
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { ROOT, RUN_FLAGS, tempDataDir, wirken } from "../cli/helpers.ts";
import { commandAvailable } from "../skip.ts";
import { inspectVault, openVault } from "../../src/vault/open.ts";
import { MAX_SECRET_BYTES } from "../../src/vault/prompt.ts";
import { mapEnv } from "./helpers.ts";

const PASS = "prompt test passphrase";
const NAME = "provider.openai.api_key";
const hasPty = Deno.build.os === "linux" &&
  (await commandAvailable("script", "apt-get install util-linux")) &&
  (await commandAvailable("stty", "apt-get install coreutils"));

/** A command running on its own pseudo-terminal; what it writes there is collected. */
class PtySession {
  #output = "";
  #tty = "";
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pump: Promise<void>;
  #child: Deno.ChildProcess;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    const decoder = new TextDecoder();
    this.#pump = (async () => {
      for await (const chunk of child.stdout) {
        this.#output += decoder.decode(chunk, { stream: true });
      }
    })();
  }

  /** Starts `shellCommand` under `script`; its first line of output names the terminal. */
  static async start(shellCommand: string, env: Record<string, string>): Promise<PtySession> {
    const child = new Deno.Command("script", {
      args: ["-q", "-e", "-c", `tty; ${shellCommand}`, "/dev/null"],
      env: { NO_COLOR: "1", ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const s = new PtySession(child);
    const first = await s.waitFor("\n");
    s.#tty = first.split(/\r?\n/)[0].trim();
    assert(s.#tty.startsWith("/dev/"), `not a terminal: ${first}`);
    return s;
  }

  get output(): string {
    return this.#output;
  }

  async waitFor(text: string, from = 0): Promise<string> {
    const end = Date.now() + 60_000;
    while (!this.#output.slice(from).includes(text)) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${JSON.stringify(text)}; got:\n${this.#output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.#output;
  }

  /**
   * Waits for the prompt text and then until the terminal is in raw mode, so the keys sent next
   * reach the prompt itself, not the kernel's line editor.
   */
  async prompt(text: string, from = 0): Promise<void> {
    await this.waitFor(text, from);
    const end = Date.now() + 60_000;
    while (true) {
      const o = await new Deno.Command("stty", { args: ["-F", this.#tty, "-a"], stdout: "piped" })
        .output();
      if (/(^|\s)-icanon(\s|$)/.test(new TextDecoder().decode(o.stdout))) return;
      if (Date.now() > end) throw new Error(`the terminal never went raw; got:\n${this.#output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async type(keys: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(keys));
  }

  /** Waits for the command to exit; its exit status and everything it printed. */
  async finish(): Promise<{ code: number; output: string }> {
    const status = await this.#child.status;
    await this.#writer.close().catch(() => {});
    await this.#pump;
    await this.#child.stderr.cancel();
    return { code: status.code, output: this.#output };
  }
}

/** Runs `wirken <args>` on a terminal; `passphrase: null` removes it from the environment. */
function startCli(args: string, dataDir: string, passphrase: string | null): Promise<PtySession> {
  const unset = passphrase === null ? "env -u WIRKEN_VAULT_PASSPHRASE " : "";
  const flags = RUN_FLAGS.join(" ");
  return PtySession.start(
    `exec ${unset}'${Deno.execPath()}' run ${flags} '${ROOT}main.ts' ${args}`,
    {
      WIRKEN_DATA_DIR: dataDir,
      WIRKEN_VAULT_BACKEND: "passphrase",
      ...(passphrase === null ? {} : { WIRKEN_VAULT_PASSPHRASE: passphrase }),
    },
  );
}

async function storedNames(dataDir: string): Promise<string[]> {
  return (await inspectVault(dataDir)).credentials.map((c) => c.name);
}

Deno.test({
  name: "prompt tty: backspace removes whole characters and nothing typed is echoed",
  ignore: !hasPty,
  async fn() {
    const data = await tempDataDir();
    const s = await startCli(`credentials add ${NAME}`, data, PASS);
    await s.prompt(`Value for ${NAME}: `);
    // "X" and the two-byte "é" are erased by DEL (0x7f), a "k" by BS (0x08).
    await s.type("sk-Xé\x7f\x7fok\x08k9\r");
    const r = await s.finish();
    assertEquals(r.code, 0, r.output);
    assertStringIncludes(r.output, `Stored ${NAME}`);
    for (const typed of ["sk-", "ok9", "é"]) {
      assertFalse(r.output.includes(typed), `echoed ${typed}`);
    }
    const v = await openVault({ dataDir: data, env: mapEnv({ WIRKEN_VAULT_PASSPHRASE: PASS }) });
    try {
      assertEquals(v.get(NAME)?.reveal(), "sk-ok9");
    } finally {
      v.close();
    }
  },
});

Deno.test({
  name: "prompt tty: Ctrl-C at the value prompt cancels with exit 130 and stores nothing",
  ignore: !hasPty,
  async fn() {
    const data = await tempDataDir();
    const s = await startCli(`credentials add ${NAME}`, data, PASS);
    await s.prompt(`Value for ${NAME}: `);
    await s.type("sk-half-typed\x03more");
    const r = await s.finish();
    assertEquals(r.code, 130, r.output);
    assertStringIncludes(r.output, "Cancelled.");
    assertFalse(r.output.includes("sk-half-typed"));
    assertEquals(await storedNames(data), []);
  },
});

Deno.test({
  name: "prompt tty: Ctrl-D on an empty prompt is 'no value given', nothing stored",
  ignore: !hasPty,
  async fn() {
    const data = await tempDataDir();
    const s = await startCli(`credentials add ${NAME}`, data, PASS);
    await s.prompt(`Value for ${NAME}: `);
    await s.type("\x04");
    const r = await s.finish();
    assertEquals(r.code, 1, r.output);
    assertStringIncludes(r.output, `No value for ${NAME} was given (empty input).`);
    assertStringIncludes(r.output, "pipe it on stdin");
    assertEquals(await storedNames(data), []);
  },
});

Deno.test({
  name: "prompt tty: a value longer than the limit is refused while typing, nothing stored",
  ignore: !hasPty,
  async fn() {
    const data = await tempDataDir();
    const s = await startCli(`credentials add ${NAME}`, data, PASS);
    await s.prompt(`Value for ${NAME}: `);
    // No Enter: the prompt must stop reading at the limit, not wait for the end of the line.
    await s.type("a".repeat(MAX_SECRET_BYTES + 1));
    const r = await s.finish();
    assertEquals(r.code, 1, r.output);
    assertStringIncludes(r.output, `The value is longer than ${MAX_SECRET_BYTES} bytes.`);
    assertEquals(await storedNames(data), []);
  },
});

Deno.test({
  name: "prompt tty: a new vault's passphrase typed differently twice creates no vault",
  ignore: !hasPty,
  async fn() {
    const data = await tempDataDir();
    const s = await startCli(`credentials add ${NAME}`, data, null);
    await s.prompt("New vault passphrase: ");
    const mark = s.output.length;
    await s.type("first passphrase typed\r");
    await s.prompt("Repeat the vault passphrase: ", mark);
    await s.type("first passphrase typo\r");
    const r = await s.finish();
    assertEquals(r.code, 1, r.output);
    assertStringIncludes(r.output, "The two passphrases differ; the vault was not created.");
    assertStringIncludes(r.output, "type the same passphrase twice");
    assertFalse(r.output.includes("first passphrase"), "a passphrase was echoed");
    assertEquals((await inspectVault(data)).exists, false);
  },
});

Deno.test("prompt stdin: empty piped input is refused and nothing is stored", async () => {
  const data = await tempDataDir();
  const env = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: PASS };
  // A bare newline (what `echo "$UNSET_VAR"` pipes) counts as empty too.
  for (const stdin of ["", "\n"]) {
    const r = await wirken(["credentials", "add", NAME], { dataDir: data, env, stdin });
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `No value for ${NAME} was given (empty input).`);
  }
  assertEquals(await storedNames(data), []);
});

Deno.test("prompt stdin: piped input over the limit is refused and nothing is stored", async () => {
  const data = await tempDataDir();
  const env = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: PASS };
  // Over by one byte, over by one byte before a newline, and over by more than a line ending.
  const over = "x".repeat(MAX_SECRET_BYTES + 1);
  for (const stdin of [over, `${over}\n`, `${over}xx`]) {
    const r = await wirken(["credentials", "add", NAME], { dataDir: data, env, stdin });
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `The value is longer than ${MAX_SECRET_BYTES} bytes.`);
    assertStringIncludes(r.stderr, "check that the right input was piped in");
  }
  assertEquals(await storedNames(data), []);
  // Exactly at the limit is accepted, also with the newline `echo` adds (not part of the value).
  const ok = await wirken(["credentials", "add", NAME], {
    dataDir: data,
    env,
    stdin: "y".repeat(MAX_SECRET_BYTES) + "\n",
  });
  assertEquals(ok.code, 0, ok.stderr);
  const v = await openVault({ dataDir: data, env: mapEnv({ WIRKEN_VAULT_PASSPHRASE: PASS }) });
  try {
    assertEquals(v.get(NAME)?.reveal(), "y".repeat(MAX_SECRET_BYTES));
  } finally {
    v.close();
  }
});
