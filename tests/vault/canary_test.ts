/**
 * The canary test: a known secret goes through every `wirken credentials` command (with
 * --verbose) and the vault API with a debug file logger, and then must appear in no output, no
 * log file and no file of the data directory, in clear, base64 or hex.
 */
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { createLogger } from "../../src/log/logger.ts";
import { Secret } from "../../src/secret.ts";
import { openVault } from "../../src/vault/open.ts";
import { tempDir, testVaultOptions } from "./helpers.ts";
import { coverageEnv } from "../coverage/env.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const CANARY = "wirken-canary-7f3a9c1e5b2d4f60";
const CANARY_2 = "wirken-canary-rotated-0b8e6d2c4a19";

function encodings(s: string): string[] {
  const bytes = new TextEncoder().encode(s);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return [s, btoa(s), btoa(s).replace(/=+$/, ""), hex, hex.toUpperCase()];
}

function assertNoCanary(where: string, text: string): void {
  for (const canary of [CANARY, CANARY_2]) {
    for (const form of encodings(canary)) {
      assertFalse(text.includes(form), `${where} contains the canary (${form.slice(0, 12)}...)`);
    }
  }
}

async function scanTree(dir: string): Promise<number> {
  let files = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) files += await scanTree(p);
    else if (e.isFile) {
      // latin1 keeps every byte as one character, so binary SQLite pages are searchable.
      assertNoCanary(p, new TextDecoder("latin1").decode(await Deno.readFile(p)));
      files++;
    }
  }
  return files;
}

Deno.test("canary: the value never appears in CLI output, logs or data files", async () => {
  const t = await tempDir();
  try {
    const data = join(t.path, "data");
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: join(t.path, "home"),
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      WIRKEN_DATA_DIR: data,
      WIRKEN_VAULT_BACKEND: "passphrase",
      WIRKEN_VAULT_PASSPHRASE: "canary test passphrase",
      NO_COLOR: "1",
      ...coverageEnv(),
    };
    const transcript: string[] = [];
    const cli = async (args: string[], stdin?: string): Promise<{ code: number; out: string }> => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "credentials", ...args, "--verbose"],
        clearEnv: true,
        env,
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(stdin));
        await w.close();
      }
      const r = await child.output();
      const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      transcript.push(`$ wirken credentials ${args.join(" ")}\n${out}`);
      return { code: r.code, out };
    };
    const name = "provider.openai.api_key";
    assertEquals(
      (await cli(["add", name, "--expires", "10d", "--rotate-every", "30d"], CANARY + "\n")).code,
      0,
    );
    assertEquals((await cli(["list"])).code, 0);
    assertEquals((await cli(["list", "--json"])).code, 0);
    assertEquals((await cli(["show", name])).code, 0);
    assertEquals((await cli(["show", name, "--json"])).code, 0);
    const reveal = await cli(["show", name, "--reveal"]);
    assertEquals(reveal.code, 1, "--reveal without a terminal must fail");
    assertStringIncludes(reveal.out, "terminal");
    assertEquals((await cli(["add", name], CANARY)).code, 1, "duplicate add fails");
    assertEquals((await cli(["rotate", name, "--json"], CANARY_2)).code, 0);
    assertEquals((await cli(["verify"])).code, 0);
    assertEquals((await cli(["rekey", "--json"])).code, 0);
    assertEquals((await cli(["rekey", "--backend", "passphrase"])).code, 0);
    assertEquals((await cli(["add", "channel.telegram.token"], CANARY)).code, 0);
    assertEquals((await cli(["remove", "channel.telegram.token", "--yes"])).code, 0);
    const all = transcript.join("\n");
    assertStringIncludes(all, "DEBUG", "--verbose produced debug output to check");
    assertStringIncludes(all, name);
    assertNoCanary("CLI output", all);

    // The same through the API with a debug-level file logger.
    const logFile = join(data, "logs", "wirken.log");
    const log = createLogger({ file: logFile, verbose: true, terminal: null });
    const opts = { ...testVaultOptions(data, "canary test passphrase"), backend: undefined, log };
    const v = await openVault(opts);
    assertEquals(v.get(name)?.reveal(), CANARY_2);
    v.set("siem.datadog.api_key", new Secret(CANARY));
    v.rotate("siem.datadog.api_key", new Secret(CANARY_2));
    await v.rekey();
    v.close();
    log.close();
    const logText = await Deno.readTextFile(logFile);
    assertStringIncludes(logText, "vault rekeyed");
    assertNoCanary("log file", logText);

    const scanned = await scanTree(t.path);
    assert(scanned >= 3, `scanned ${scanned} files`);
  } finally {
    await t.cleanup();
  }
});
