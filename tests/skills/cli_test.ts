/**
 * `wirken skills ...` and `wirken mcp ...` as a user runs them (real CLI in a child process).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";
import { AUDIT_READ } from "./audit_read.ts";

const CORPUS = fileURLToPath(new URL("../fixtures/skills/corpus/", import.meta.url));
const VAULT_ENV = {
  WIRKEN_VAULT_BACKEND: "passphrase",
  WIRKEN_VAULT_PASSPHRASE: "skills cli test passphrase",
};

Deno.test("cli: skills inspect prints JSON, or the precise error with exit 1", async () => {
  const dataDir = await tempDataDir();
  const ok = await wirken(["skills", "inspect", join(CORPUS, "02-json5-trailing")], { dataDir });
  assertEquals(ok.code, 0, ok.stderr);
  const parsed = JSON.parse(ok.stdout);
  assertEquals(parsed.name, "github-pr");
  assertEquals(parsed.requires.bins, ["gh", "git"]);
  assertEquals(typeof parsed.eligible, "boolean");
  const bad = await wirken(["skills", "inspect", join(CORPUS, "b05-bad-json5", "SKILL.md")], {
    dataDir,
  });
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "b05-bad-json5/SKILL.md:8:7: metadata: cannot parse");
  assertStringIncludes(bad.stderr, "fix:");
  assertEquals(bad.stdout, "");
});

Deno.test("cli: skills list shows the bundled skills; sign, install, verify, tamper", async () => {
  const dataDir = await tempDataDir();
  const env = VAULT_ENV;
  const list = await wirken(["skills", "list", "--json"], { dataDir, env });
  assertEquals(list.code, 0, list.stderr);
  const entries = JSON.parse(list.stdout) as { name: string; signature: { status: string } }[];
  assertEquals(entries.length, 15);
  assert(entries.every((e) => e.signature.status === "verified"));

  // A skill of your own: sign it with a new vault key, install it, verify it.
  const src = join(await Deno.makeTempDir(), "mine");
  await Deno.mkdir(src);
  await Deno.writeTextFile(
    join(src, "SKILL.md"),
    "---\nname: mine\ndescription: Mine.\n---\nDo.\n",
  );
  const sign = await wirken(["skills", "sign", src, "--new-key", "--json"], { dataDir, env });
  assertEquals(sign.code, 0, sign.stderr);
  assertEquals(JSON.parse(sign.stdout).name, "mine");
  const install = await wirken(["skills", "install", src, "--yes"], { dataDir, env });
  assertEquals(install.code, 0, install.stderr);
  assertStringIncludes(install.stderr, "signed by: trusted key (ed25519:");
  const verify = await wirken(["skills", "verify", "mine", "--json"], { dataDir, env });
  assertEquals(JSON.parse(verify.stdout).ok, true, verify.stdout);
  // The install was audited.
  const audit = await AUDIT_READ(dataDir);
  assert(audit.some((e) => e.kind === "skill.install" && e.payload.name === "mine"));

  // Edited after install: verify and list refuse it.
  await Deno.writeTextFile(
    join(dataDir, "skills", "mine", "SKILL.md"),
    "---\nname: mine\ndescription: Evil.\n---\n",
  );
  const verify2 = await wirken(["skills", "verify", "mine"], { dataDir, env });
  assertEquals(verify2.code, 1);
  assertStringIncludes(verify2.stderr, "file changed after signing: SKILL.md");
  const list2 = JSON.parse((await wirken(["skills", "list", "--json"], { dataDir, env })).stdout);
  const mine = list2.find((e: { name: string }) => e.name === "mine");
  assertEquals(mine.available, false);
});

Deno.test("cli: unsigned skills need --allow-unsigned and approval; recorded in config", async () => {
  const dataDir = await tempDataDir();
  const env = VAULT_ENV;
  // Without a terminal and without --yes, install refuses to proceed.
  const unsigned = join(await Deno.makeTempDir(), "loose");
  await Deno.mkdir(unsigned);
  await Deno.writeTextFile(join(unsigned, "SKILL.md"), "---\nname: loose\ndescription: L.\n---\n");
  const refused = await wirken(["skills", "install", unsigned, "--yes"], { dataDir, env });
  assertEquals(refused.code, 1);
  assertStringIncludes(refused.stderr, "unsigned");
  const noTty = await wirken(["skills", "install", unsigned, "--allow-unsigned"], { dataDir, env });
  assertEquals(noTty.code, 2, noTty.stderr);
  const forced = await wirken(["skills", "install", unsigned, "--allow-unsigned", "--yes"], {
    dataDir,
    env,
  });
  assertEquals(forced.code, 0, forced.stderr);
  assertStringIncludes(forced.stderr, "SIGNATURE: NOT VERIFIED");
  const config = JSON.parse(await Deno.readTextFile(join(dataDir, "config.json")));
  assertEquals(config.skills.allowUnsigned, ["loose"]);

  const rm = await wirken(["skills", "remove", "loose"], { dataDir, env });
  assertEquals(rm.code, 0, rm.stderr);
  const config2 = JSON.parse(await Deno.readTextFile(join(dataDir, "config.json")));
  assertEquals(config2.skills.allowUnsigned, []);
  assertEquals((await wirken(["skills", "remove", "loose"], { dataDir, env })).code, 1);
});

Deno.test("cli: mcp add, list --offline, remove; insecure URLs and bad input refused", async () => {
  const dataDir = await tempDataDir();
  const add = await wirken(["mcp", "add", "fs", "--", "npx", "-y", "some-server", "/tmp"], {
    dataDir,
  });
  assertEquals(add.code, 0, add.stderr);
  const http = await wirken(["mcp", "add", "web", "--url", "https://mcp.example.com/mcp"], {
    dataDir,
  });
  assertEquals(http.code, 0, http.stderr);
  const insecure = await wirken(["mcp", "add", "bad", "--url", "http://example.com/mcp"], {
    dataDir,
  });
  assertEquals(insecure.code, 1);
  assertStringIncludes(insecure.stderr, "Refusing");
  const both = await wirken(["mcp", "add", "x", "--url", "https://a.example/mcp", "--", "cmd"], {
    dataDir,
  });
  assertEquals(both.code, 2);
  const badName = await wirken(["mcp", "add", "Bad Name", "--", "cmd"], { dataDir });
  assertEquals(badName.code, 1);
  const list = await wirken(["mcp", "list", "--offline", "--json"], { dataDir });
  assertEquals(JSON.parse(list.stdout).map((s: { name: string }) => s.name), ["fs", "web"]);
  const config = JSON.parse(await Deno.readTextFile(join(dataDir, "config.json")));
  assertEquals(config.mcp.servers.fs.command, ["npx", "-y", "some-server", "/tmp"]);
  assertEquals(config.mcp.servers.fs.defaultTier, 2);
  assertEquals((await wirken(["mcp", "remove", "fs"], { dataDir })).code, 0);
  assertEquals((await wirken(["mcp", "remove", "fs"], { dataDir })).code, 1);
});

Deno.test("cli: publish to a registry folder, then search and install by name", async () => {
  const dataDir = await tempDataDir();
  const env = VAULT_ENV;
  const work = await Deno.makeTempDir();
  const src = join(work, "greeter");
  await Deno.mkdir(src);
  await Deno.writeTextFile(
    join(src, "SKILL.md"),
    "---\nname: greeter\ndescription: Greets people.\n---\nSay hi.\n",
  );
  const sign = await wirken(["skills", "sign", src, "--new-key", "--json"], { dataDir, env });
  assertEquals(sign.code, 0, sign.stderr);
  const publicKey = JSON.parse(sign.stdout).publicKey as string;
  const registry = join(work, "registry");
  const pub = await wirken(["skills", "publish", src, "--to", registry, "--version", "1.2.0"], {
    dataDir,
  });
  assertEquals(pub.code, 0, pub.stderr);
  // Trust the registry (not the personal trusted key, which sign --new-key added).
  const configPath = join(dataDir, "config.json");
  const config = JSON.parse(await Deno.readTextFile(configPath));
  config.skills.trustedKeys = [];
  config.skills.registry = { url: registry, publicKey };
  await Deno.writeTextFile(configPath, JSON.stringify(config));
  const search = await wirken(["skills", "search", "greets", "--json"], { dataDir });
  assertEquals(JSON.parse(search.stdout), [
    { name: "greeter", version: "1.2.0", description: "Greets people." },
  ]);
  const install = await wirken(["skills", "install", "greeter", "--yes"], { dataDir });
  assertEquals(install.code, 0, install.stderr);
  assertStringIncludes(install.stderr, `signed by: registry ${registry}`);
  const list = JSON.parse((await wirken(["skills", "list", "--json"], { dataDir })).stdout);
  const g = list.find((e: { name: string }) => e.name === "greeter");
  assertEquals(g.available, true);
  assertEquals(g.source, "installed");
  await Deno.remove(work, { recursive: true });
});
