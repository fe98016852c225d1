/**
 * Runs the real `wirken` CLI from source in a child process, as a user would.
 *
 * @module
 */
import { GATEWAY_FLAGS } from "../../src/cli/self.ts";

/** Repo root. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** The permission flags of `deno task wirken` (kept in sync with deno.json by a test). */
export const RUN_FLAGS: readonly string[] = GATEWAY_FLAGS;

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const madeDirs = new Set<string>();
// Tests keep their data directory until the test file ends (a failure can be inspected while it
// runs); then it goes, so repeated runs do not fill /tmp with vaults and audit logs.
globalThis.addEventListener("unload", () => {
  for (const dir of madeDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone, or a child still writes into it: nothing to keep the run from ending for.
    }
  }
});

/** A fresh, private data directory for one test, removed when the test file ends. */
export async function tempDataDir(): Promise<string> {
  const base = await Deno.makeTempDir({ prefix: "wirken-test-" });
  madeDirs.add(base);
  return `${base}/data`;
}

/** Runs `wirken <args>` to completion. */
export async function wirken(
  args: string[],
  options: { dataDir: string; env?: Record<string, string>; stdin?: string },
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...options.env, WIRKEN_DATA_DIR: options.dataDir },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A gateway started with `wirken run`, and how to stop it. */
export interface RunningGateway {
  child: Deno.ChildProcess;
  url: string;
  /** Everything printed so far. */
  output(): string;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/** Starts `wirken run --port 0` and waits until the banner names the WebChat URL. */
export async function startGateway(
  options: { dataDir: string; args?: string[]; env?: Record<string, string> },
): Promise<RunningGateway> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, "run", ...(options.args ?? ["--port", "0"])],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...options.env, WIRKEN_DATA_DIR: options.dataDir },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const pumping = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!url) {
    url = /WebChat: (http:\/\/localhost:\d+)/.exec(text)?.[1];
    if (url) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`gateway did not start:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url: url.replace("localhost", "127.0.0.1"),
    output: () => text,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const status = await child.status;
      await pumping;
      return status.code;
    },
  };
}
