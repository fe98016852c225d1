/**
 * Generated reports go through `deno fmt`, so `deno fmt --check` (part of `deno task test`)
 * passes right after a benchmark run.
 *
 * @module
 */

/** Formats `files` in place; a failure is reported, not thrown (the figures are written). */
export async function formatGenerated(files: readonly URL[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", ...files.map((f) => f.pathname)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `deno fmt of the report failed:\n${new TextDecoder().decode(out.stderr)}`,
      ),
    );
  }
}
