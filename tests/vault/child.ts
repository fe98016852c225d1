/**
 * Spawning `worker.ts` children and reading their progress lines.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";

const WORKER = fromFileUrl(new URL("./worker.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));

/** A running worker whose stdout lines can be awaited. */
export interface Worker {
  child: Deno.ChildProcess;
  /** Lines printed so far. */
  lines: string[];
  /** Resolves with the first line matching `pred` (rejects if the worker exits first). */
  waitFor(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGKILL, then wait for exit. */
  kill9(): Promise<void>;
  /** Waits for a normal exit; returns its status and stderr. */
  done(): Promise<{ code: number; stderr: string }>;
}

/** Starts `worker.ts <scenario> args` on the vault in `dataDir`. */
export function startWorker(dataDir: string, scenario: string, ...args: string[]): Worker {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, WORKER, scenario, ...args],
    env: { WIRKEN_DATA_DIR: dataDir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let ended = false;
  const endWaiters: (() => void)[] = [];
  const stderrText = new Response(child.stderr).text();
  (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        for (const w of [...waiters]) {
          if (w.pred(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
    ended = true;
    for (const e of endWaiters) e();
  })();
  return {
    child,
    lines,
    waitFor(pred, timeoutMs = 30_000) {
      const seen = lines.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`worker ${scenario}: timed out; lines: ${lines.slice(-5)}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        const onEnd = async () => {
          clearTimeout(timer);
          reject(new Error(`worker ${scenario} exited early: ${await stderrText}`));
        };
        if (ended) onEnd();
        else endWaiters.push(onEnd);
      });
    },
    async kill9() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      await stderrText;
    },
    async done() {
      const status = await child.status;
      return { code: status.code, stderr: await stderrText };
    },
  };
}
