/**
 * The traversal corpus: every escape attempt must be refused by workspace confinement, and the
 * legitimate near-misses (`..foo`, nested folders, links that stay inside) must work.
 */
import { join } from "node:path";
import { ConfinementError, Workspace } from "../../src/tools/fs/confine.ts";
import { assert, assertEquals } from "../assert.ts";

interface Fixture {
  base: string;
  ws: string;
  outside: string;
  secret: string;
}

const SECRET = "outside-secret-content";

async function fixture(): Promise<Fixture> {
  const base = await Deno.makeTempDir({ prefix: "wirken-traversal-" });
  const ws = join(base, "ws");
  const outside = join(base, "outside");
  await Deno.mkdir(join(ws, "sub", "deep"), { recursive: true });
  await Deno.mkdir(outside);
  // A sibling whose name starts with the workspace's name: a naive prefix check lets it in.
  await Deno.mkdir(join(base, "ws2"));
  await Deno.writeTextFile(join(base, "ws2", "secret.txt"), SECRET);
  const secret = join(outside, "secret.txt");
  await Deno.writeTextFile(secret, SECRET);
  await Deno.writeTextFile(join(ws, "sub", "inside.txt"), "inside");
  await Deno.symlink(outside, join(ws, "link_out"));
  await Deno.symlink(secret, join(ws, "link_file_out"));
  await Deno.symlink("../outside/secret.txt", join(ws, "rel_up"));
  await Deno.symlink("/etc/passwd", join(ws, "link_etc"));
  await Deno.symlink("/proc/self/root", join(ws, "proc_root"));
  await Deno.symlink("/proc/self/cwd", join(ws, "proc_cwd"));
  await Deno.symlink(join(outside, "not-yet"), join(ws, "dangling"));
  await Deno.symlink("loop", join(ws, "loop"));
  await Deno.symlink(join(ws, "sub"), join(ws, "link_in"));
  await Deno.symlink("sub/inside.txt", join(ws, "link_in_file"));
  await Deno.link(secret, join(ws, "hard"));
  return { base, ws, outside, secret };
}

async function cleanup(f: Fixture): Promise<void> {
  await Deno.remove(f.base, { recursive: true });
}

async function refused(p: Promise<unknown>, label: string): Promise<ConfinementError> {
  try {
    const value = await p;
    throw new Error(`${label}: expected a refusal, got ${JSON.stringify(value)?.slice(0, 200)}`);
  } catch (e) {
    assert(e instanceof ConfinementError, `${label}: expected ConfinementError, got ${e}`);
    return e;
  }
}

/** Paths read_file must refuse; the function form gets the fixture for absolute paths. */
const READ_ESCAPES: readonly (string | ((f: Fixture) => string))[] = [
  "../outside/secret.txt",
  "sub/../../outside/secret.txt",
  "..",
  "../",
  "./../outside/secret.txt",
  "sub/../..",
  "a/b/../../../outside/secret.txt",
  "sub/deep/../../../outside/secret.txt",
  "sub/./../../outside/secret.txt",
  "sub//..//..//outside/secret.txt",
  (f) => f.secret,
  (f) => join(f.ws, "..", "outside", "secret.txt"),
  (f) => `${f.ws}/../outside/secret.txt`,
  (f) => join(f.base, "ws2", "secret.txt"),
  "/etc/passwd",
  "//etc/passwd",
  "/proc/self/root/etc/passwd",
  "/proc/self/cwd/etc/passwd",
  "/proc/self/environ",
  "/dev/zero",
  "link_out/secret.txt",
  "link_file_out",
  "rel_up",
  "link_etc",
  "proc_root/etc/passwd",
  "proc_cwd/etc/passwd",
  "dangling",
  "loop",
  "hard",
  "secret\0.txt",
  "sub/inside.txt\0../../etc/passwd",
  "\u2215etc\u2215passwd",
  "..\u2215outside\u2215secret.txt",
  "\uff0fetc\uff0fpasswd",
  "\u2044etc\u2044passwd",
  "..\u29f8outside",
  "..\\outside\\secret.txt",
  "sub\\..\\..\\outside",
  "\uff0e\uff0e/outside/secret.txt",
  "\u2024\u2024/outside/secret.txt",
  "\u2025/outside/secret.txt",
  "~/.wirken/config.json",
  "~",
  "sub/\u202e/txt.exe",
  "\u200b../outside/secret.txt",
  "line\nbreak",
  "bell\x07",
  "del\x7f",
  "",
  "a".repeat(5000),
  "sub",
];

Deno.test("traversal corpus: every escape attempt on read is refused", async () => {
  const f = await fixture();
  try {
    let count = 0;
    const ws = await Workspace.open(f.ws);
    for (const entry of READ_ESCAPES) {
      const path = typeof entry === "string" ? entry : entry(f);
      await refused(ws.readFile(path, 1 << 20), `read ${JSON.stringify(path)}`);
      count++;
    }
    assert(count >= 40, `corpus has ${count} entries`);
  } finally {
    await cleanup(f);
  }
});

Deno.test("traversal corpus: writes through escapes are refused and change nothing outside", async () => {
  const f = await fixture();
  try {
    const ws = await Workspace.open(f.ws);
    const attempts = [
      "../outside/new.txt",
      "link_out/new.txt",
      "link_out/secret.txt",
      "link_file_out",
      "rel_up",
      "dangling",
      "hard",
      "proc_root/tmp/wirken-escape.txt",
      "/tmp/wirken-escape.txt",
      "\uff0ftmp\uff0fwirken-escape.txt",
      "link_etc",
      "sub/../../outside/new.txt",
    ];
    for (const path of attempts) {
      await refused(ws.writeFile(path, "pwned", 1 << 20), `write ${JSON.stringify(path)}`);
    }
    assertEquals(await Deno.readTextFile(f.secret), SECRET);
    const names = [];
    for await (const e of Deno.readDir(f.outside)) names.push(e.name);
    assertEquals(names.sort(), ["secret.txt"]);
    let exists = true;
    try {
      await Deno.stat("/tmp/wirken-escape.txt");
    } catch {
      exists = false;
    }
    assertEquals(exists, false);
  } finally {
    await cleanup(f);
  }
});

Deno.test("traversal corpus: listing outside directories is refused", async () => {
  const f = await fixture();
  try {
    const ws = await Workspace.open(f.ws);
    for (const path of ["..", "link_out", "proc_root", "/", "/etc", "proc_cwd", f.outside]) {
      await refused(ws.listDir(path, 100), `list ${path}`);
    }
  } finally {
    await cleanup(f);
  }
});

Deno.test("TOCTOU: a file swapped for an outside symlink after the check is refused", async () => {
  const f = await fixture();
  try {
    // Without the fixture's hard link, so the post-open inode check is what refuses.
    await Deno.remove(join(f.ws, "hard"));
    await Deno.writeTextFile(join(f.ws, "swap.txt"), "harmless");
    const ws = await Workspace.open(f.ws, {
      afterResolve: async (abs) => {
        if (!abs.endsWith("swap.txt")) return;
        await Deno.remove(abs);
        await Deno.symlink(f.secret, abs);
      },
    });
    const e = await refused(ws.readFile("swap.txt", 1 << 20), "toctou read");
    assertEquals(e.reason, "swapped");
  } finally {
    await cleanup(f);
  }
});

Deno.test("TOCTOU: a parent folder swapped for an outside symlink after the check is refused", async () => {
  const f = await fixture();
  try {
    await Deno.remove(join(f.ws, "hard"));
    await Deno.mkdir(join(f.ws, "dir"));
    await Deno.writeTextFile(join(f.ws, "dir", "secret.txt"), "harmless");
    const ws = await Workspace.open(f.ws, {
      afterResolve: async () => {
        await Deno.rename(join(f.ws, "dir"), join(f.ws, "dir_old"));
        await Deno.symlink(f.outside, join(f.ws, "dir"));
      },
    });
    const e = await refused(ws.readFile("dir/secret.txt", 1 << 20), "toctou parent");
    assertEquals(e.reason, "swapped");
  } finally {
    await cleanup(f);
  }
});

Deno.test("TOCTOU: a write whose folder is swapped after the check touches nothing outside", async () => {
  const f = await fixture();
  try {
    await Deno.mkdir(join(f.ws, "out"));
    const ws = await Workspace.open(f.ws, {
      afterResolve: async () => {
        await Deno.rename(join(f.ws, "out"), join(f.ws, "out_old"));
        await Deno.symlink(f.outside, join(f.ws, "out"));
      },
    });
    await refused(ws.writeFile("out/secret.txt", "pwned", 1 << 20), "toctou write");
    assertEquals(await Deno.readTextFile(f.secret), SECRET);
    const names = [];
    for await (const e of Deno.readDir(f.outside)) names.push(e.name);
    assertEquals(names, ["secret.txt"]);
  } finally {
    await cleanup(f);
  }
});

Deno.test("TOCTOU: a listed folder swapped for an outside symlink is refused", async () => {
  const f = await fixture();
  try {
    await Deno.mkdir(join(f.ws, "ls"));
    const ws = await Workspace.open(f.ws, {
      afterResolve: async () => {
        await Deno.rename(join(f.ws, "ls"), join(f.ws, "ls_old"));
        await Deno.symlink(f.outside, join(f.ws, "ls"));
      },
    });
    await refused(ws.listDir("ls", 100), "toctou list");
  } finally {
    await cleanup(f);
  }
});

Deno.test("a FIFO in the workspace is refused without blocking", async () => {
  const f = await fixture();
  try {
    const out = await new Deno.Command("mkfifo", { args: [join(f.ws, "pipe")] }).output();
    assert(out.success);
    const ws = await Workspace.open(f.ws);
    const e = await refused(ws.readFile("pipe", 100), "fifo");
    assertEquals(e.reason, "not-a-file");
  } finally {
    await cleanup(f);
  }
});

Deno.test("near-misses: legitimate names and nested folders work", async () => {
  const f = await fixture();
  try {
    const ws = await Workspace.open(f.ws);
    const names = [
      "..foo",
      "foo..",
      "...",
      "a..b/c.txt",
      "nested/deep/dir/file.txt",
      "./sub/dot.txt",
      "sub//double.txt",
      ".hidden",
      "%2e%2e",
      "résumé.txt",
      "with space.txt",
      "日本語/ファイル.txt",
      "~tilde-inside",
    ];
    for (const name of names) {
      await ws.writeFile(name, `content of ${name}`, 1024);
      const r = await ws.readFile(name, 1024);
      assertEquals(new TextDecoder().decode(r.bytes), `content of ${name}`, name);
    }
    assertEquals(await Deno.readTextFile(join(f.ws, "..foo")), "content of ..foo");
    // Absolute paths inside the workspace and links that stay inside are fine.
    assertEquals(
      new TextDecoder().decode((await ws.readFile(join(f.ws, "sub", "inside.txt"), 100)).bytes),
      "inside",
    );
    assertEquals(
      new TextDecoder().decode((await ws.readFile("link_in/inside.txt", 100)).bytes),
      "inside",
    );
    assertEquals(
      new TextDecoder().decode((await ws.readFile("link_in_file", 100)).bytes),
      "inside",
    );
    const listing = await ws.listDir(".", 100);
    assert(listing.entries.some((e) => e.name === "..foo" && e.type === "file"));
    assert(listing.entries.some((e) => e.name === "link_out" && e.type === "symlink"));
  } finally {
    await cleanup(f);
  }
});

Deno.test("size caps: reads are truncated and marked, oversized writes refused", async () => {
  const f = await fixture();
  try {
    const ws = await Workspace.open(f.ws);
    await Deno.writeTextFile(join(f.ws, "big.txt"), "x".repeat(5000));
    const r = await ws.readFile("big.txt", 100);
    assertEquals(r.bytes.length, 100);
    assertEquals(r.truncated, true);
    assertEquals(r.size, 5000);
    const e = await refused(ws.writeFile("big2.txt", "y".repeat(101), 100), "too large");
    assertEquals(e.reason, "too-large");
  } finally {
    await cleanup(f);
  }
});
