import { commandAvailable } from "../skip.ts";
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";

const SCRIPT = new URL("../../install.sh", import.meta.url).pathname;

function assetName(): string {
  const os = Deno.build.os === "darwin" ? "macos" : "linux";
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  return `wirken-${os}-${arch}`;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// Listing the fingerprint of the committed release key proves ssh-keygen runs.
const hasSshKeygen = await commandAvailable("ssh-keygen", "apt-get install openssh-client", [
  "-l",
  "-f",
  new URL("../../docs/release-key.pub", import.meta.url).pathname,
]);

/** A throwaway Ed25519 key pair standing in for the release key. */
async function keyPair(): Promise<{ privateKey: string; publicKey: string }> {
  const dir = await Deno.makeTempDir();
  const out = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-C", "test-release", "-f", `${dir}/key`],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return {
    privateKey: await Deno.readTextFile(`${dir}/key`),
    publicKey: await Deno.readTextFile(`${dir}/key.pub`),
  };
}

const SIGN_SCRIPT = new URL("../../.github/sign-sums.sh", import.meta.url).pathname;
const PINNED = /^release_key="([^"]*)"$/m;

/**
 * Signs `sums` with the same script the release workflow runs, checking the result against
 * `publicKey`. Returns the signature file's text.
 */
async function sign(sums: string, key: { privateKey: string; publicKey: string }) {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, sums);
  await Deno.writeTextFile(`${dir}/key.pub`, key.publicKey);
  const out = await new Deno.Command("sh", {
    args: [SIGN_SCRIPT, dir, `${dir}/key.pub`],
    env: { WIRKEN_RELEASE_SIGNING_KEY: key.privateKey, PATH: Deno.env.get("PATH") ?? "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return await Deno.readTextFile(`${dir}/SHA256SUMS.sig`);
}

/**
 * A copy of install.sh pinning `publicKey` instead of the project's release key: the test's
 * only way in, since the script reads its key from nowhere but its own text.
 */
async function scriptPinning(publicKey: string): Promise<string> {
  const text = await Deno.readTextFile(SCRIPT);
  assertEquals(text.match(new RegExp(PINNED, "gm"))?.length, 1, "one pinned key line");
  const keyTypeAndData = publicKey.trim().split(/\s+/).slice(0, 2).join(" ");
  const path = `${await Deno.makeTempDir()}/install.sh`;
  await Deno.writeTextFile(path, text.replace(PINNED, `release_key="${keyTypeAndData}"`));
  return path;
}

/** Serves a fake release; `sig` undefined: the release has no signature file. */
function serveRelease(files: { binary: Uint8Array<ArrayBuffer>; sums: string; sig?: string }) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    if (path === `/${assetName()}`) return new Response(files.binary);
    if (path === "/SHA256SUMS") return new Response(files.sums);
    if (path === "/SHA256SUMS.sig" && files.sig !== undefined) return new Response(files.sig);
    return new Response("no", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

/** A release of `binary` whose SHA256SUMS claims `sumOf`'s hash, signed by `key`. */
async function signedRelease(
  binary: Uint8Array<ArrayBuffer>,
  sumOf: Uint8Array<ArrayBuffer>,
  key: { privateKey: string; publicKey: string },
) {
  const sums = `${await sha256Hex(sumOf)}  ${assetName()}\n`;
  return serveRelease({ binary, sums, sig: await sign(sums, key) });
}

async function runInstall(
  releaseUrl: string,
  installDir: string,
  script = SCRIPT,
  path = Deno.env.get("PATH") ?? "",
) {
  // An absolute shell: `path` may leave out the directory of `sh`.
  const out = await new Deno.Command("/bin/sh", {
    args: [script],
    env: { WIRKEN_RELEASE_URL: releaseUrl, WIRKEN_INSTALL_DIR: installDir, PATH: path },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

const installed = (dir: string) => Deno.stat(`${dir}/wirken`).then(() => true, () => false);
const BINARY = new TextEncoder().encode("#!/bin/sh\necho wirken-fake\n");

Deno.test({
  name: "install.sh: a release signed by the pinned key whose SHA-256 matches is installed",
  ignore: !hasSshKeygen,
}, async () => {
  const key = await keyPair();
  const release = await signedRelease(BINARY, BINARY, key);
  const dir = await Deno.makeTempDir();
  try {
    const r = await runInstall(release.url, dir, await scriptPinning(key.publicKey));
    assertEquals(r.code, 0, r.text);
    assertStringIncludes(r.text, "Release signature verified");
    assertStringIncludes(r.text, "signature and SHA-256 verified");
    assertEquals(await Deno.readFile(`${dir}/wirken`), BINARY);
    assert(((await Deno.stat(`${dir}/wirken`)).mode ?? 0) & 0o100);
  } finally {
    await release.close();
  }
});

Deno.test({
  name: "install.sh: refuses a tampered binary (signed sums of another file) and installs nothing",
  ignore: !hasSshKeygen,
}, async () => {
  const key = await keyPair();
  const evil = new TextEncoder().encode("#!/bin/sh\necho evil\n");
  const release = await signedRelease(evil, BINARY, key);
  const dir = await Deno.makeTempDir();
  try {
    const r = await runInstall(release.url, dir, await scriptPinning(key.publicKey));
    assertEquals(r.code, 1);
    assertStringIncludes(r.text, "checksum mismatch");
    assertFalse(await installed(dir));
  } finally {
    await release.close();
  }
});

Deno.test({
  name:
    "install.sh: refuses sums changed after signing, a signature by another key, a garbled signature, and no signature",
  ignore: !hasSshKeygen,
}, async () => {
  const key = await keyPair();
  const other = await keyPair();
  const script = await scriptPinning(key.publicKey);
  const evil = new TextEncoder().encode("#!/bin/sh\necho evil\n");
  const goodSums = `${await sha256Hex(BINARY)}  ${assetName()}\n`;
  const evilSums = `${await sha256Hex(evil)}  ${assetName()}\n`;
  const goodSig = await sign(goodSums, key);
  const lines = goodSig.split("\n");
  // Flip one base64 character in the middle of the signature blob.
  const mid = Math.floor(lines.length / 2);
  lines[mid] = lines[mid].slice(0, 10) + (lines[mid][10] === "A" ? "B" : "A") +
    lines[mid].slice(11);
  const cases: { name: string; binary: Uint8Array<ArrayBuffer>; sums: string; sig?: string }[] = [
    // An attacker who can replace release files swaps binary and sums but not the signature.
    { name: "tampered sums", binary: evil, sums: evilSums, sig: goodSig },
    // ...or signs the evil sums with a key of their own.
    { name: "other key", binary: evil, sums: evilSums, sig: await sign(evilSums, other) },
    { name: "garbled signature", binary: BINARY, sums: goodSums, sig: lines.join("\n") },
    { name: "empty signature", binary: BINARY, sums: goodSums, sig: "" },
  ];
  for (const c of cases) {
    const release = serveRelease(c);
    const dir = await Deno.makeTempDir();
    try {
      const r = await runInstall(release.url, dir, script);
      assertEquals(r.code, 1, `${c.name}: ${r.text}`);
      assertStringIncludes(r.text, "is not signed by the wirken release key", c.name);
      assertStringIncludes(r.text, "Nothing was installed", c.name);
      assertFalse(await installed(dir), c.name);
    } finally {
      await release.close();
    }
  }
  const unsigned = serveRelease({ binary: BINARY, sums: goodSums });
  const dir = await Deno.makeTempDir();
  try {
    const r = await runInstall(unsigned.url, dir, script);
    assertEquals(r.code, 1, r.text);
    assertStringIncludes(r.text, "the release has no signature");
    assertFalse(await installed(dir));
  } finally {
    await unsigned.close();
  }
});

Deno.test({
  name:
    "install.sh: the pinned key is docs/release-key.pub, and a release signed by any other key is refused by the real script even with the environment set",
  ignore: !hasSshKeygen,
}, async () => {
  const text = await Deno.readTextFile(SCRIPT);
  const pinned = PINNED.exec(text)?.[1];
  const published =
    (await Deno.readTextFile(new URL("../../docs/release-key.pub", import.meta.url)))
      .trim().split(/\s+/).slice(0, 2).join(" ");
  assertEquals(pinned, published);
  assert(published.startsWith("ssh-ed25519 "), published);

  const key = await keyPair();
  const release = await signedRelease(BINARY, BINARY, key);
  const dir = await Deno.makeTempDir();
  try {
    // No variable swaps the key: the unmodified script refuses the test key's signature.
    const out = await new Deno.Command("sh", {
      args: [SCRIPT],
      env: {
        WIRKEN_RELEASE_URL: release.url,
        WIRKEN_INSTALL_DIR: dir,
        PATH: Deno.env.get("PATH") ?? "",
        release_key: key.publicKey.trim(),
        WIRKEN_RELEASE_KEY: key.publicKey.trim(),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 1);
    assertStringIncludes(
      new TextDecoder().decode(out.stderr),
      "is not signed by the wirken release key",
    );
    assertFalse(await installed(dir));
  } finally {
    await release.close();
  }
});

Deno.test({
  name: "install.sh: without ssh-keygen it says what to install and downloads nothing",
  ignore: !hasSshKeygen,
}, async () => {
  // A PATH with every tool the script uses except ssh-keygen.
  const bin = await Deno.makeTempDir();
  const tools = ["uname", "curl", "sha256sum", "mktemp", "rm", "awk", "cut", "mkdir", "chmod"];
  for (const tool of [...tools, "mv", "cat", "head", "grep", "dirname"]) {
    const which = await new Deno.Command("sh", {
      args: ["-c", `command -v ${tool}`],
      stdout: "piped",
    }).output();
    const real = new TextDecoder().decode(which.stdout).trim();
    if (real) await Deno.symlink(real, `${bin}/${tool}`);
  }
  const key = await keyPair();
  const release = await signedRelease(BINARY, BINARY, key);
  const dir = await Deno.makeTempDir();
  try {
    const r = await runInstall(release.url, dir, await scriptPinning(key.publicKey), bin);
    assertEquals(r.code, 1, r.text);
    assertStringIncludes(r.text, "need ssh-keygen");
    assertStringIncludes(r.text, "apt-get install openssh-client");
    assertEquals(release.requests, []);
    assertFalse(await installed(dir));
  } finally {
    await release.close();
  }
});

Deno.test({
  name: "install.sh: a signed release without a checksum entry for this machine is refused",
  ignore: !hasSshKeygen,
}, async () => {
  const key = await keyPair();
  const sums = "abc  some-other-asset\n";
  const release = serveRelease({ binary: BINARY, sums, sig: await sign(sums, key) });
  const dir = await Deno.makeTempDir();
  try {
    const r = await runInstall(release.url, dir, await scriptPinning(key.publicKey));
    assertEquals(r.code, 1);
    assertStringIncludes(r.text, "no entry for");
    assertFalse(await installed(dir));
  } finally {
    await release.close();
  }
});

Deno.test({
  name:
    "release signing script: refuses an empty secret and a key that is not the pinned one, so no unverifiable release is published",
  ignore: !hasSshKeygen,
}, async () => {
  const key = await keyPair();
  const other = await keyPair();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, "abc  wirken-linux-x64\n");
  await Deno.writeTextFile(`${dir}/key.pub`, key.publicKey);
  const run = async (secret: string) => {
    const out = await new Deno.Command("sh", {
      args: [SIGN_SCRIPT, dir, `${dir}/key.pub`],
      env: { WIRKEN_RELEASE_SIGNING_KEY: secret, PATH: Deno.env.get("PATH") ?? "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  const empty = await run("");
  assertEquals(empty.code, 1);
  assertStringIncludes(empty.stderr, "store the release private key as the repository secret");
  const wrong = await run(other.privateKey);
  assertEquals(wrong.code, 1);
  assertStringIncludes(wrong.stderr, "not the release key pinned in install.sh");
  const right = await run(key.privateKey);
  assertEquals(right.code, 0, right.stderr);
  assertStringIncludes(await Deno.readTextFile(`${dir}/SHA256SUMS.sig`), "BEGIN SSH SIGNATURE");
});

Deno.test("install.sh: an unsupported CPU is named and nothing is downloaded", async () => {
  const bin = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${bin}/uname`,
    '#!/bin/sh\n[ "$1" = "-m" ] && echo sparc64 || echo Linux\n',
    {
      mode: 0o755,
    },
  );
  const out = await new Deno.Command("sh", {
    args: [SCRIPT],
    env: { PATH: `${bin}:${Deno.env.get("PATH")}`, WIRKEN_RELEASE_URL: "http://127.0.0.1:9/none" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 1);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "unsupported CPU sparc64");
});

Deno.test("install.sh --from-source: installs a wrapper that runs this checkout", async () => {
  const dir = await Deno.makeTempDir();
  const out = await new Deno.Command("sh", {
    args: [SCRIPT, "--from-source"],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      WIRKEN_INSTALL_DIR: dir,
      HOME: Deno.env.get("HOME") ?? "/tmp",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  assertStringIncludes(text, "Installed a wirken wrapper");
  const version = await new Deno.Command(`${dir}/wirken`, { args: ["--version"], stdout: "piped" })
    .output();
  assert(version.success);
  assertStringIncludes(new TextDecoder().decode(version.stdout), "wirken ");
});

const hasShellcheck = await commandAvailable("shellcheck", "apt-get install shellcheck");

Deno.test({ name: "install.sh: shellcheck finds nothing", ignore: !hasShellcheck }, async () => {
  const out = await new Deno.Command("shellcheck", {
    args: [
      SCRIPT,
      new URL("../../.ci/run", import.meta.url).pathname,
      new URL("../../.github/sign-sums.sh", import.meta.url).pathname,
    ],
    stdout: "piped",
  })
    .output();
  assert(out.success, new TextDecoder().decode(out.stdout));
});

Deno.test("release workflow: signs SHA256SUMS with the WIRKEN_RELEASE_SIGNING_KEY secret and publishes the signature", async () => {
  const yml = await Deno.readTextFile(
    new URL("../../.github/workflows/release.yml", import.meta.url),
  );
  const publish = yml.slice(yml.indexOf("  publish:"));
  const signAt = publish.indexOf("run: sh .github/sign-sums.sh dist docs/release-key.pub");
  assert(signAt > 0, "the publish job runs the signing script against the committed key");
  assert(publish.indexOf("sha256sum wirken-* > SHA256SUMS") < signAt, "sums are made first");
  assertStringIncludes(
    publish,
    "WIRKEN_RELEASE_SIGNING_KEY: ${{ secrets.WIRKEN_RELEASE_SIGNING_KEY }}",
  );
  const upload = publish.indexOf("softprops/action-gh-release");
  assert(signAt < upload, "signing happens before anything is published");
  assertStringIncludes(publish.slice(upload), "dist/SHA256SUMS.sig");
});
