/**
 * A child process for the vault's crash and concurrency tests. Opens the vault in
 * `WIRKEN_DATA_DIR` with the test passphrase backend and runs one scenario, printing progress
 * lines the parent waits on before it sends SIGKILL.
 *
 * Usage: deno run -A tests/vault/worker.ts <scenario> [args...]
 *
 * @module
 */
import { Secret } from "../../src/secret.ts";
import { openVault } from "../../src/vault/open.ts";
import type { RekeyStep } from "../../src/vault/store.ts";
import { testVaultOptions } from "./helpers.ts";

const enc = new TextEncoder();
function say(line: string): void {
  Deno.stdout.writeSync(enc.encode(line + "\n"));
}

/** Parks the process forever (the parent kills it). */
function hang(): Promise<never> {
  setInterval(() => {}, 1_000);
  return new Promise<never>(() => {});
}

const dataDir = Deno.env.get("WIRKEN_DATA_DIR");
if (!dataDir) throw new Error("WIRKEN_DATA_DIR is required");
const [scenario, ...args] = Deno.args;
const vault = await openVault(testVaultOptions(dataDir));
say("open");

switch (scenario) {
  case "rotate-loop": {
    // Rotates one credential forever; "committed N" is printed after rotate() returns.
    const name = args[0];
    for (let i = 1;; i++) {
      vault.rotate(name, new Secret(`value-${i}`));
      say(`committed ${i}`);
    }
  }
  case "rekey-stop": {
    // Rekeys and parks the process at the named step, so the parent kills it exactly there.
    const stopAt = args[0] as RekeyStep;
    await vault.rekey({
      onStep: async (step) => {
        if (step === stopAt) {
          say(`at ${step}`);
          await hang();
        }
      },
    });
    say("finished");
    break;
  }
  case "rekey-loop": {
    for (let i = 1;; i++) {
      await vault.rekey();
      say(`rekeyed ${i}`);
    }
  }
  case "write-many": {
    // Two of these run at once: distinct names plus one shared name both keep overwriting.
    const [prefix, count] = [args[0], Number(args[1])];
    for (let i = 0; i < count; i++) {
      vault.set(`${prefix}.${i}`, new Secret(`${prefix}-value-${i}`));
      vault.set("shared", new Secret(`${prefix}-shared-${i}`));
    }
    say("done");
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
vault.close();
