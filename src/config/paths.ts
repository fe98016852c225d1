/**
 * Where wirken keeps its data, and creating that place with private permissions.
 *
 * `~/.wirken` by default; `WIRKEN_DATA_DIR` overrides it, so several gateways (and tests) can
 * run side by side. Directories are 0700, files 0600.
 *
 * @module
 */
import { join } from "node:path";
import { WirkenError } from "../errors.ts";

/** Every path inside the data directory. One place, so no module builds its own. */
export interface DataPaths {
  root: string;
  config: string;
  vaultDb: string;
  auditDb: string;
  sessionsDb: string;
  permissionsDb: string;
  /** Last verified organisation policy envelope (offline starts). */
  orgPolicy: string;
  sockets: string;
  gatewaySocket: string;
  skills: string;
  workspace: string;
  logs: string;
}

/** Mode of every directory wirken creates. */
export const DIR_MODE = 0o700;
/** Mode of every file wirken creates. */
export const FILE_MODE = 0o600;

/** The subdirectories created by {@linkcode ensureDataDir}. */
const SUBDIRS = ["sockets", "skills", "workspace", "logs"] as const;

/** Resolves the data directory from `WIRKEN_DATA_DIR` or the home directory. */
export function resolveDataDir(env: { get(name: string): string | undefined } = Deno.env): string {
  const override = env.get("WIRKEN_DATA_DIR");
  if (override && override.trim() !== "") return override;
  const home = env.get("HOME") ?? env.get("USERPROFILE");
  if (!home) {
    throw new WirkenError("Cannot find the home directory to place ~/.wirken.", {
      fix: "Set WIRKEN_DATA_DIR to the folder wirken should use, e.g. WIRKEN_DATA_DIR=/srv/wirken.",
    });
  }
  return join(home, ".wirken");
}

/** All paths for a data directory rooted at `root`. */
export function dataPaths(root: string): DataPaths {
  const sockets = join(root, "sockets");
  return {
    root,
    config: join(root, "config.json"),
    vaultDb: join(root, "vault.db"),
    auditDb: join(root, "audit.db"),
    sessionsDb: join(root, "sessions.db"),
    permissionsDb: join(root, "permissions.db"),
    orgPolicy: join(root, "org-policy.json"),
    sockets,
    gatewaySocket: join(sockets, "gateway.sock"),
    skills: join(root, "skills"),
    workspace: join(root, "workspace"),
    logs: join(root, "logs"),
  };
}

/**
 * Creates the data directory and its subdirectories (0700), tightening any that are looser:
 * other local users must never read credentials, sockets or the audit trail.
 */
export async function ensureDataDir(root: string): Promise<DataPaths> {
  const paths = dataPaths(root);
  for (const dir of [root, ...SUBDIRS.map((d) => join(root, d))]) {
    try {
      await Deno.mkdir(dir, { recursive: true, mode: DIR_MODE });
      const info = await Deno.lstat(dir);
      if (info.isSymlink) {
        throw new WirkenError(`${dir} is a symbolic link; wirken will not follow it.`, {
          fix: `Replace ${dir} with a real directory (or point WIRKEN_DATA_DIR at one).`,
        });
      }
      if (!info.isDirectory) {
        throw new WirkenError(`${dir} exists but is not a directory.`, {
          fix: `Move ${dir} aside so wirken can create its data directory there.`,
        });
      }
      if (info.mode !== null && (info.mode & 0o777) !== DIR_MODE) {
        await Deno.chmod(dir, DIR_MODE);
      }
    } catch (e) {
      if (e instanceof WirkenError) throw e;
      throw new WirkenError(`Cannot create the data directory ${dir}: ${(e as Error).message}`, {
        fix: "Check that you own the parent folder, or set WIRKEN_DATA_DIR to a writable place.",
        cause: e,
      });
    }
  }
  return paths;
}

/** Writes `data` to `path` atomically (temp file 0600, fsync, rename), so a crash never leaves half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: FILE_MODE });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
  try {
    await Deno.chmod(tmp, FILE_MODE);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
