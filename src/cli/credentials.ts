/**
 * `wirken credentials ...`: the encrypted vault. Values are read from a no-echo prompt or
 * stdin, never from argv, and are never printed except by `show --reveal` on a terminal after
 * a confirmation. The vault module loads lazily, so `wirken --help` stays fast.
 *
 * @module
 */
import { print, printError, printJson, table } from "./output.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";
import type { CredentialInfo } from "../vault/types.ts";
import type { Vault } from "../vault/store.ts";
import type { BackendId } from "../vault/keychain/backend.ts";

const NAME_ARG = {
  name: "name",
  description: "Credential name, e.g. provider.openai.api_key.",
  required: true,
} as const;

const DATE_OPTIONS = {
  expires: {
    type: "string",
    valueName: "<date|span>",
    description:
      "Hard expiry: an ISO date (2026-12-31), a span from now (90d, 12w, 6m, 1y) or never.",
  },
  "rotate-every": {
    type: "string",
    valueName: "<span>",
    description: "Rotation reminder period (e.g. 90d); run and doctor warn 14 days ahead.",
  },
} as const;

async function vaultOf(ctx: CommandContext): Promise<Vault> {
  const { openVault } = await import("../vault/open.ts");
  // Vault records (names, backend) go to the terminal only with --verbose; values never do.
  return await openVault({
    dataDir: ctx.dataDir,
    env: ctx.env,
    log: ctx.verbose ? ctx.log : undefined,
  });
}

function nameOf(ctx: CommandContext): string {
  return String(ctx.args.name);
}

function when(d: Date | null | undefined): string {
  return d ? d.toISOString().slice(0, 16).replace("T", " ") : "-";
}

function infoJson(c: CredentialInfo): Record<string, unknown> {
  const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
  return {
    name: c.name,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
    expiresAt: iso(c.expiresAt),
    rotationDueAt: iso(c.rotationDueAt),
    rotationPeriodDays: c.rotationPeriodDays ?? null,
    lastUsedAt: iso(c.lastUsedAt),
  };
}

async function dateOptions(
  ctx: CommandContext,
): Promise<{ expiresAt?: Date | null; rotationPeriodDays?: number }> {
  const { parseWhen, parsePeriodDays } = await import("../vault/expiry.ts");
  const out: { expiresAt?: Date | null; rotationPeriodDays?: number } = {};
  if (typeof ctx.flags.expires === "string") out.expiresAt = parseWhen(ctx.flags.expires);
  if (typeof ctx.flags["rotate-every"] === "string") {
    out.rotationPeriodDays = parsePeriodDays(ctx.flags["rotate-every"]);
  }
  return out;
}

async function checkName(name: string): Promise<void> {
  const { CREDENTIAL_NAME } = await import("../vault/store.ts");
  const { InvalidCredentialNameError } = await import("../vault/errors.ts");
  if (!CREDENTIAL_NAME.test(name)) throw new InvalidCredentialNameError(name);
}

async function list(ctx: CommandContext): Promise<number> {
  const { credentialWarnings } = await import("../vault/expiry.ts");
  const { inspectVault } = await import("../vault/open.ts");
  // Names and dates are not secret: listing needs no master key (and no passphrase prompt).
  const summary = await inspectVault(ctx.dataDir);
  const infos = summary.credentials;
  const warnings = credentialWarnings(infos);
  if (ctx.json) {
    printJson({
      backend: summary.backend,
      credentials: infos.map(infoJson),
      warnings: warnings.map((w) => ({ name: w.name, kind: w.kind, at: w.at.toISOString() })),
    });
    return 0;
  }
  if (infos.length === 0) {
    print("No credentials yet. Add one with: wirken credentials add <name>");
    return 0;
  }
  print(table(
    ["NAME", "UPDATED", "EXPIRES", "ROTATION DUE", "LAST USED"],
    infos.map((c) => [
      c.name,
      when(c.updatedAt),
      when(c.expiresAt),
      when(c.rotationDueAt),
      when(c.lastUsedAt),
    ]),
  ));
  for (const w of warnings) printError(`warning: ${w.message}`);
  return 0;
}

async function addOrRotate(ctx: CommandContext, mode: "add" | "rotate"): Promise<number> {
  const name = nameOf(ctx);
  await checkName(name);
  const options = await dateOptions(ctx);
  const { readSecret } = await import("../vault/prompt.ts");
  const { CredentialNotFoundError, VaultError } = await import("../vault/errors.ts");
  // Open (and unlock) first: a wrong passphrase or an existing name fails before the user
  // types or pipes the secret.
  const vault = await vaultOf(ctx);
  try {
    const exists = vault.info(name) !== undefined;
    if (mode === "add" && exists) {
      throw new VaultError(`A credential named "${name}" already exists.`, {
        fix: `Replace its value with: wirken credentials rotate ${name}`,
      });
    }
    if (mode === "rotate" && !exists) throw new CredentialNotFoundError(name);
    const value = await readSecret(mode === "add" ? `Value for ${name}` : `New value for ${name}`);
    if (mode === "add") vault.add(name, value, options);
    else vault.rotate(name, value, options);
    const info = vault.info(name) as CredentialInfo;
    if (ctx.json) {
      printJson({ ok: true, action: mode, backend: vault.backendId, credential: infoJson(info) });
    } else {
      print(
        `${
          mode === "add" ? "Stored" : "Rotated"
        } ${name} (encrypted; master key in ${vault.backendLabel}).`,
      );
    }
    return 0;
  } finally {
    vault.close();
  }
}

async function show(ctx: CommandContext): Promise<number> {
  const name = nameOf(ctx);
  const reveal = ctx.flags.reveal === true;
  const { UsageError } = await import("../errors.ts");
  const { CredentialNotFoundError, VaultError } = await import("../vault/errors.ts");
  if (reveal && ctx.json) {
    throw new UsageError(
      "--reveal cannot be combined with --json",
      "drop --json to reveal on a terminal",
    );
  }
  if (reveal && !(Deno.stdin.isTerminal() && Deno.stdout.isTerminal())) {
    throw new VaultError("--reveal only works on an interactive terminal.", {
      fix: "Run it in a terminal; values are never written to pipes or files by wirken.",
    });
  }
  const { inspectVault } = await import("../vault/open.ts");
  const { BACKEND_LABELS } = await import("../vault/keychain/backend.ts");
  const summary = await inspectVault(ctx.dataDir);
  const info = summary.credentials.find((c) => c.name === name);
  if (!info) throw new CredentialNotFoundError(name);
  if (ctx.json) {
    printJson({ backend: summary.backend, credential: infoJson(info) });
    return 0;
  }
  print(table(["FIELD", "VALUE"], [
    ["name", info.name],
    ["created", when(info.createdAt)],
    ["updated", when(info.updatedAt)],
    ["expires", when(info.expiresAt)],
    ["rotation due", when(info.rotationDueAt)],
    ["rotation period", info.rotationPeriodDays ? `${info.rotationPeriodDays} days` : "-"],
    ["last used", when(info.lastUsedAt)],
    ["master key", BACKEND_LABELS[summary.backend ?? ""] ?? summary.backend ?? "-"],
  ]));
  if (!reveal) return 0;
  // Only revealing needs the master key.
  const vault = await vaultOf(ctx);
  try {
    const { confirm } = await import("../vault/prompt.ts");
    if (!(await confirm(`Print the value of ${name} on this terminal?`))) {
      print("Not revealed.");
      return 1;
    }
    const value = vault.get(name);
    if (!value) throw new CredentialNotFoundError(name);
    // The one deliberate way a value reaches a screen: straight to the terminal, bypassing the
    // logging/printing helpers that exist to keep values out of output.
    Deno.stdout.writeSync(new TextEncoder().encode(value.reveal() + "\n"));
    return 0;
  } finally {
    vault.close();
  }
}

async function remove(ctx: CommandContext): Promise<number> {
  const name = nameOf(ctx);
  const { CredentialNotFoundError, VaultError } = await import("../vault/errors.ts");
  const vault = await vaultOf(ctx);
  try {
    if (!vault.info(name)) throw new CredentialNotFoundError(name);
    if (ctx.flags.yes !== true) {
      if (!Deno.stdin.isTerminal()) {
        throw new VaultError(`Removing ${name} needs confirmation.`, {
          fix: `Pass --yes: wirken credentials remove ${name} --yes`,
        });
      }
      const { confirm } = await import("../vault/prompt.ts");
      if (!(await confirm(`Delete credential ${name}? This cannot be undone.`))) {
        print("Nothing removed.");
        return 1;
      }
    }
    vault.remove(name);
    if (ctx.json) printJson({ ok: true, action: "remove", name });
    else print(`Removed ${name}.`);
    return 0;
  } finally {
    vault.close();
  }
}

async function rekey(ctx: CommandContext): Promise<number> {
  const target = typeof ctx.flags.backend === "string" ? ctx.flags.backend : undefined;
  const { rekeyTarget } = await import("../vault/open.ts");
  const vault = await vaultOf(ctx);
  try {
    const r = await vault.rekey({
      to: target ? rekeyTarget(target as BackendId, ctx.env) : undefined,
    });
    if (ctx.json) {
      printJson({ ok: true, action: "rekey", backend: vault.backendId, ...r });
    } else {
      print(
        `Re-encrypted ${r.count} credential${r.count === 1 ? "" : "s"} under a new master key ` +
          `(generation ${r.generation}, stored in ${vault.backendLabel}).`,
      );
    }
    return 0;
  } finally {
    vault.close();
  }
}

async function verify(ctx: CommandContext): Promise<number> {
  const vault = await vaultOf(ctx);
  try {
    const report = vault.verify();
    if (ctx.json) {
      printJson({ ok: report.problems.length === 0, backend: vault.backendId, ...report });
    } else if (report.problems.length === 0) {
      print(
        `All ${report.checked} credential${
          report.checked === 1 ? "" : "s"
        } passed the integrity check.`,
      );
    } else {
      print(table(["NAME", "PROBLEM"], report.problems.map((p) => [p.name, p.reason])));
      printError(
        `error: ${report.problems.length} of ${report.checked} credentials failed the integrity check; vault.db was modified outside wirken.`,
      );
      printError(
        "  fix: Restore vault.db from a backup, or remove and re-add each one listed (wirken credentials remove NAME --yes).",
      );
    }
    return report.problems.length === 0 ? 0 : 1;
  } finally {
    vault.close();
  }
}

/** The `credentials` command group. */
export const credentialsCommand: CommandSpec = {
  name: "credentials",
  summary: "Manage encrypted credentials (values never printed).",
  description:
    "Credentials live in vault.db, each encrypted with XChaCha20-Poly1305 under a master key\n" +
    "kept in the macOS Keychain, the Linux Secret Service, or a passphrase-encrypted key file\n" +
    "(WIRKEN_VAULT_PASSPHRASE or a prompt). Values are read from a hidden prompt or stdin.",
  examples: [
    "wirken credentials list",
    "wirken credentials add provider.openai.api_key",
    'printf %s "$TOKEN" | wirken credentials add channel.telegram.token --expires 90d',
  ],
  subcommands: [
    {
      name: "list",
      summary: "List credential names and dates (never values).",
      examples: ["wirken credentials list", "wirken credentials list --json"],
      json: true,
      run: list,
    },
    {
      name: "add",
      summary: "Add a credential (value from a hidden prompt or stdin, never argv).",
      description: "Fails if the name exists; use `rotate` to replace a value.",
      examples: [
        "wirken credentials add provider.openai.api_key",
        'printf %s "$TOKEN" | wirken credentials add channel.telegram.token --rotate-every 90d',
      ],
      args: [NAME_ARG],
      options: DATE_OPTIONS,
      json: true,
      run: (ctx) => addOrRotate(ctx, "add"),
    },
    {
      name: "rotate",
      summary: "Replace a credential's value atomically (old value kept until the new is written).",
      description:
        "The expiry applies to the new value: give --expires again if it has one. The rotation\n" +
        "period carries over and the next rotation date moves ahead.",
      examples: [
        "wirken credentials rotate channel.telegram.token",
        'printf %s "$NEW" | wirken credentials rotate provider.openai.api_key --expires 1y',
      ],
      args: [NAME_ARG],
      options: DATE_OPTIONS,
      json: true,
      run: (ctx) => addOrRotate(ctx, "rotate"),
    },
    {
      name: "show",
      summary: "Show a credential's metadata (--reveal prints the value on a terminal).",
      examples: [
        "wirken credentials show provider.openai.api_key",
        "wirken credentials show provider.openai.api_key --json",
        "wirken credentials show provider.openai.api_key --reveal",
      ],
      args: [NAME_ARG],
      options: {
        reveal: {
          type: "boolean",
          description: "Also print the value; only on an interactive terminal, after confirming.",
        },
      },
      json: true,
      run: show,
    },
    {
      name: "remove",
      summary: "Delete a credential.",
      examples: [
        "wirken credentials remove provider.openai.api_key",
        "wirken credentials remove provider.openai.api_key --yes --json",
      ],
      args: [NAME_ARG],
      options: {
        yes: { type: "boolean", short: "y", description: "Do not ask for confirmation." },
      },
      json: true,
      run: remove,
    },
    {
      name: "verify",
      summary: "Check that every stored credential is intact (tamper check; prints no values).",
      examples: ["wirken credentials verify", "wirken credentials verify --json"],
      json: true,
      run: verify,
    },
    {
      name: "rekey",
      summary: "Re-encrypt every credential under a new master key, in one transaction.",
      description:
        "A crash at any moment loses nothing: the new key is stored before the single\n" +
        "re-encryption transaction, and the vault finishes an interrupted rekey on next open.\n" +
        "With --backend the new key goes to that backend and the old one is deleted;\n" +
        "`--backend passphrase` also sets a new passphrase (prompt, or WIRKEN_VAULT_NEW_PASSPHRASE).",
      examples: [
        "wirken credentials rekey",
        "wirken credentials rekey --json",
        "wirken credentials rekey --backend libsecret",
      ],
      options: {
        backend: {
          type: "string",
          valueName: "<backend>",
          choices: ["macos-keychain", "libsecret", "passphrase"],
          description:
            "Also move the master key to this backend (crash-safe, like any rekey); `passphrase` changes the passphrase.",
        },
      },
      json: true,
      run: rekey,
    },
  ],
};
