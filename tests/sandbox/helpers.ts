/**
 * Shared helpers of the sandbox escape tests: temp workspaces and loud skips.
 *
 * @module
 */
import { join } from "node:path";

/** A fake data directory with a workspace inside it and secrets beside it. */
export interface DataDirFixture {
  base: string;
  dataDir: string;
  workspace: string;
  vault: string;
  outsideDir: string;
}

/** Creates `<tmp>/.wirken/{workspace,vault.db}` and an outside folder. */
export async function dataDirFixture(): Promise<DataDirFixture> {
  // Under /var/tmp, not /tmp: the sandbox's fresh /tmp is writable by design, and a data dir
  // there would make a write to its (private) scaffolding look like an escape.
  const parent = (await Deno.stat("/var/tmp").then((i) => i.isDirectory).catch(() => false))
    ? "/var/tmp"
    : undefined;
  const base = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "wirken-sandbox-", dir: parent }),
  );
  const dataDir = join(base, ".wirken");
  const workspace = join(dataDir, "workspace");
  const outsideDir = join(base, "outside");
  await Deno.mkdir(workspace, { recursive: true, mode: 0o700 });
  await Deno.mkdir(outsideDir);
  const vault = join(dataDir, "vault.db");
  await Deno.writeTextFile(vault, "VAULT-SECRET-BYTES");
  await Deno.writeTextFile(join(outsideDir, "secret.txt"), "OUTSIDE-SECRET");
  return { base, dataDir, workspace, vault, outsideDir };
}

/** Removes a fixture. */
export async function removeFixture(f: { base: string }): Promise<void> {
  await Deno.remove(f.base, { recursive: true }).catch(() => {});
}

const told = new Set<string>();

/** Says on stderr, once per reason, why a group of tests is skipped (so a skip is never silent). */
export function announceSkip(what: string, reason: string): void {
  const line = `\n*** SKIPPING ${what}: ${reason} ***\n`;
  if (told.has(line)) return;
  told.add(line);
  Deno.stderr.writeSync(new TextEncoder().encode(line));
}
