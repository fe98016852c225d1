/**
 * Cold start of `wirken run` (no adapters) with the vault's master key in the OS keychain
 * (Secret Service through libsecret, a private gnome-keyring in a private D-Bus session) instead
 * of the passphrase key file. The key file's scrypt is a security parameter and stays as it is;
 * this figure shows what a start costs without it, so the report can say where the time goes.
 *
 * Skips (no figures, a line on stderr) when secret-tool, gnome-keyring-daemon or
 * dbus-run-session is missing.
 *
 * @module
 */
import { join } from "node:path";
import { summarize, type Summary } from "./stats.ts";
import { recordDistribution } from "./plot.ts";
import { fakeChat } from "../tests/fakes/openai_chat.ts";
import { RUN_FLAGS } from "../tests/cli/helpers.ts";
import { createLogger } from "../src/log/logger.ts";
import { openVault } from "../src/vault/open.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TOOLS = ["secret-tool", "gnome-keyring-daemon", "dbus-run-session"];

async function missingTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const t of TOOLS) {
    const r = await new Deno.Command("sh", { args: ["-c", `command -v ${t}`], stdout: "null" })
      .output();
    if (!r.success) missing.push(t);
  }
  return missing;
}

/** Inside the D-Bus session: creates a keychain vault, then times `starts` cold starts. */
async function inner(starts: number): Promise<number[]> {
  const model = fakeChat(() => ({ text: "ok" }));
  const dataDir = Deno.env.get("WIRKEN_DATA_DIR")!;
  try {
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
    const vault = await openVault({
      dataDir,
      env: new Map([["WIRKEN_VAULT_BACKEND", "libsecret"]]),
      log: createLogger({ terminal: null }),
    });
    if (vault.backendId !== "libsecret") throw new Error(`vault on ${vault.backendId}`);
    vault.close();
    await Deno.writeTextFile(
      join(dataDir, "config.json"),
      JSON.stringify({ provider: { kind: "custom", model: "m", baseUrl: model.baseUrl } }),
    );
    const samples: number[] = [];
    for (let i = 0; i <= starts; i++) {
      const t0 = performance.now();
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, "run", "--port", "0"],
        cwd: ROOT,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let text = "";
      const dec = new TextDecoder();
      const pump = async (s: ReadableStream<Uint8Array>) => {
        for await (const c of s) text += dec.decode(c, { stream: true });
      };
      const pumping = Promise.all([pump(child.stdout), pump(child.stderr)]);
      const deadline = Date.now() + 30_000;
      while (!/WebChat: http/.test(text)) {
        if (Date.now() > deadline || /locked/i.test(text)) {
          child.kill("SIGKILL");
          await child.status;
          throw new Error(`gateway did not start unlocked:\n${text}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      // The first start is the one that finds the vault for the first time: not measured.
      if (i > 0) samples.push(performance.now() - t0);
      child.kill("SIGTERM");
      await child.status;
      await pumping;
    }
    return samples;
  } finally {
    await model.close();
  }
}

/** Runs the keychain cold starts in a private D-Bus session with its own keyring. */
export async function run(): Promise<Record<string, Summary | number>> {
  const missing = await missingTools();
  if (missing.length > 0) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(`(keychain bench skipped: ${missing.join(", ")} missing) `),
    );
    return {};
  }
  const base = await Deno.makeTempDir({ prefix: "wirken-bench-keychain-" });
  try {
    const home = join(base, "home");
    await Deno.mkdir(join(home, ".local", "share"), { recursive: true });
    await Deno.mkdir(join(home, "run"), { recursive: true, mode: 0o700 });
    const script = new URL(import.meta.url).pathname;
    const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const cmd = [
      "printf 'bench-keyring-pw' | gnome-keyring-daemon --unlock --components=secrets >/dev/null",
      `exec ${shellQuote(Deno.execPath())} run -A --config ${shellQuote(join(ROOT, "deno.json"))} ${
        shellQuote(script)
      } --inner 10`,
    ].join(" && ");
    const out = await new Deno.Command("dbus-run-session", {
      args: ["--", "sh", "-c", cmd],
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        XDG_DATA_HOME: join(home, ".local", "share"),
        XDG_RUNTIME_DIR: join(home, "run"),
        WIRKEN_DATA_DIR: join(base, "data"),
        NO_COLOR: "1",
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const line = text.split("\n").find((l) => l.startsWith("SAMPLES "));
    if (!out.success || !line) {
      throw new Error(`keychain session failed:\n${text}\n${new TextDecoder().decode(out.stderr)}`);
    }
    const samples = JSON.parse(line.slice("SAMPLES ".length)) as number[];
    recordDistribution("cold start, keychain vault, no adapters (ms)", samples);
    return { "cold start to WebChat banner, keychain vault, no adapters (ms)": summarize(samples) };
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "--inner") {
    const samples = await inner(Number(Deno.args[1] ?? 10));
    Deno.stdout.writeSync(new TextEncoder().encode(`SAMPLES ${JSON.stringify(samples)}\n`));
  } else {
    Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(await run(), null, 2) + "\n"));
  }
}
