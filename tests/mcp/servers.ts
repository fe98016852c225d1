/**
 * Real MCP servers from npm for the tests, installed once per machine into a cache folder
 * (npm is reachable on our machines and in CI). When node or npm is missing, tests that need
 * them are skipped loudly.
 *
 * @module
 */
import { join } from "node:path";
import { tmpdir } from "node:os";
import { commandAvailable } from "../skip.ts";

/** Pinned versions, so a new release never changes what the tests exercise. */
export const SERVER_PACKAGES = [
  "@modelcontextprotocol/server-everything@2026.8.31",
  "@modelcontextprotocol/server-filesystem@2026.8.31",
];

// Outside /tmp: the bubblewrap test binds this folder read-only, and the sandbox's fresh /tmp
// would hide anything under /tmp.
const CACHE = join(
  Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? tmpdir(), ".cache"),
  "wirken-test-mcp-servers-2026.8.31",
);

let installing: Promise<string | null> | undefined;

/**
 * The folder holding `node_modules/.bin/mcp-server-everything` and
 * `mcp-server-filesystem`, or null (with a loud message) when they cannot be had.
 */
export function mcpServersDir(): Promise<string | null> {
  installing ??= install();
  return installing;
}

async function install(): Promise<string | null> {
  const bin = join(CACHE, "node_modules", ".bin", "mcp-server-everything");
  try {
    await Deno.stat(bin);
    return CACHE;
  } catch {
    // not installed yet
  }
  if (!(await commandAvailable("node", "install Node.js 20+"))) return null;
  if (!(await commandAvailable("npm", "install npm"))) return null;
  // Install beside the final folder and rename, so parallel test files never see half a tree.
  const tmp = `${CACHE}.${crypto.randomUUID()}`;
  await Deno.mkdir(tmp, { recursive: true, mode: 0o700 });
  const out = await new Deno.Command("npm", {
    args: ["install", "--silent", "--no-audit", "--no-fund", "--prefix", tmp, ...SERVER_PACKAGES],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).output();
  if (!out.success) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    Deno.stderr.writeSync(new TextEncoder().encode(
      `SKIPPING MCP tests: npm install of the MCP servers failed: ${
        new TextDecoder().decode(out.stderr).slice(0, 500)
      }\n`,
    ));
    return null;
  }
  try {
    await Deno.rename(tmp, CACHE);
  } catch {
    // Another test file won the race; use its copy.
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return CACHE;
}

/** The command that starts a server binary from the cache. */
export function serverCommand(dir: string, bin: string, ...args: string[]): string[] {
  return ["node", join(dir, "node_modules", ".bin", bin), ...args];
}

/** A free loopback TCP port. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
