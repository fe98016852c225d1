/**
 * Loud skips: a test that needs a tool the machine lacks is registered as ignored (so deno's
 * summary counts it) and the reason is printed. CI installs the tools, so nothing skips there.
 *
 * @module
 */

/** True when `cmd args` runs successfully; otherwise prints why dependent tests are skipped. */
export async function commandAvailable(
  cmd: string,
  install: string,
  args: string[] = ["--version"],
): Promise<boolean> {
  const ok = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null", stdin: "null" })
    .output().then((o) => o.success, () => false);
  if (!ok) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(`SKIPPING tests that need \`${cmd}\`: not available (${install})\n`),
    );
  }
  return ok;
}
