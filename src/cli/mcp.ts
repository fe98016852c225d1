/**
 * `wirken mcp add|list|remove`: Model Context Protocol servers.
 *
 * Servers live in config (`mcp.servers`); secrets they need (env values, HTTP headers) are
 * named here and kept in the vault. The MCP SDK loads only in `list`, which connects.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { print, printError, printJson, table } from "./output.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";
import type { Config } from "../config/schema.ts";

/** The `mcp` command group. */
export const mcpCommand: CommandSpec = {
  name: "mcp",
  summary: "Add, list and remove MCP servers.",
  description:
    "Tools of MCP servers are offered to the model as mcp_<server>_<tool>, validated against\n" +
    "their input schema, tiered (default 2: approval on first use), audited like any tool.\n" +
    "A server that exits is restarted with backoff; a call past its timeout is cancelled.",
  examples: ["wirken mcp add fs -- npx -y @modelcontextprotocol/server-filesystem /tmp"],
  subcommands: [
    {
      name: "add",
      summary: "Register an MCP server (stdio command or HTTP URL).",
      examples: [
        "wirken mcp add fs -- npx -y @modelcontextprotocol/server-filesystem /tmp",
        "wirken mcp add docs --url https://mcp.example.com/mcp --header Authorization=mcp.docs.auth",
        "wirken mcp add gh --secret-env GITHUB_TOKEN=mcp.gh.token -- npx -y github-mcp",
      ],
      args: [
        { name: "name", description: "Name for the server.", required: true },
        { name: "command", description: "Command and arguments after `--`.", variadic: true },
      ],
      options: {
        url: { type: "string", description: "Streamable HTTP endpoint.", valueName: "<url>" },
        header: {
          type: "string",
          multiple: true,
          valueName: "<Name=credential>",
          description: "HTTP header whose value is the named vault credential.",
        },
        env: {
          type: "string",
          multiple: true,
          valueName: "<NAME=value>",
          description: "Non-secret environment variable for a stdio server.",
        },
        "secret-env": {
          type: "string",
          multiple: true,
          valueName: "<NAME=credential>",
          description: "Environment variable whose value is the named vault credential.",
        },
        tier: {
          type: "string",
          choices: ["1", "2", "3"],
          description: "Permission tier of its tools (default 2).",
        },
        timeout: {
          type: "string",
          valueName: "<seconds>",
          description: "Tool call timeout (default 60).",
        },
        sandbox: { type: "boolean", description: "Run the stdio server inside the sandbox." },
        replace: { type: "boolean", description: "Replace a server of the same name." },
      },
      run: addBody,
    },
    {
      name: "list",
      summary: "List MCP servers and their tools.",
      description: "Connects to each enabled server to list its tools (--offline: config only).",
      examples: ["wirken mcp list", "wirken mcp list --json", "wirken mcp list --offline"],
      options: {
        offline: { type: "boolean", description: "Do not connect; show the config only." },
      },
      json: true,
      run: listBody,
    },
    {
      name: "remove",
      summary: "Remove an MCP server.",
      examples: ["wirken mcp remove fs"],
      args: [{ name: "name", description: "Server name.", required: true }],
      run: removeBody,
    },
  ],
};

async function configOf(ctx: CommandContext): Promise<{ config: Config; path: string }> {
  const { ensureDataDir } = await import("../config/paths.ts");
  const { loadConfig } = await import("../config/load.ts");
  const paths = await ensureDataDir(ctx.dataDir);
  return { config: await loadConfig(paths.config), path: paths.config };
}

function pairs(ctx: CommandContext, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of ([] as string[]).concat((ctx.flags[flag] as string[] | undefined) ?? [])) {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(`--${flag} expects NAME=value, got "${item}"`, `e.g. --${flag} KEY=x`);
    }
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

async function addBody(ctx: CommandContext): Promise<number> {
  const { McpServerSchema } = await import("../config/schema.ts");
  const { saveConfig } = await import("../config/load.ts");
  const { config, path } = await configOf(ctx);
  const name = String(ctx.args.name);
  const command = ([] as string[]).concat(ctx.args.command ?? []);
  const url = typeof ctx.flags.url === "string" ? ctx.flags.url : undefined;
  if ((command.length > 0) === (url !== undefined)) {
    throw new UsageError(
      "Give either a command after `--` (stdio) or --url (streamable HTTP), not both.",
      "e.g. wirken mcp add fs -- npx -y @modelcontextprotocol/server-filesystem /tmp",
    );
  }
  if (url) {
    // Refused here rather than at every start: HTTPS, or plain HTTP only to this machine.
    const { requireSecureUrl } = await import("../net/secure_url.ts");
    requireSecureUrl(url, "MCP server");
  }
  if (config.mcp.servers[name] && ctx.flags.replace !== true) {
    throw new UsageError(`An MCP server named "${name}" exists.`, "Pass --replace, or remove it.");
  }
  const timeout = typeof ctx.flags.timeout === "string" ? Number(ctx.flags.timeout) : undefined;
  const parsed = McpServerSchema.safeParse({
    ...(url ? { url } : { command }),
    headers: pairs(ctx, "header"),
    env: pairs(ctx, "env"),
    secretEnv: pairs(ctx, "secret-env"),
    ...(typeof ctx.flags.tier === "string" ? { defaultTier: Number(ctx.flags.tier) } : {}),
    ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
    sandbox: ctx.flags.sandbox === true,
  });
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(`Invalid server: ${i.path.join(".") || "(server)"}: ${i.message}`);
  }
  config.mcp.servers[name] = parsed.data;
  // saveConfig validates the whole file (the name rule included) before writing.
  await saveConfig(path, config);
  print(`Added MCP server ${name}. See its tools with \`wirken mcp list\`.`);
  return 0;
}

async function listBody(ctx: CommandContext): Promise<number> {
  const { config } = await configOf(ctx);
  const servers = Object.entries(config.mcp.servers).map(([name, s]) => ({ name, ...s }));
  const describe = (s: typeof servers[number]) => s.url ?? s.command!.join(" ");
  if (ctx.flags.offline === true || servers.length === 0) {
    if (ctx.json) {
      printJson(servers.map((s) => ({ name: s.name, target: describe(s), enabled: s.enabled })));
    } else if (servers.length === 0) {
      print("No MCP servers. Add one with `wirken mcp add <name> -- <command>`.");
    } else {
      print(table(
        ["NAME", "ENABLED", "TARGET"],
        servers.map((s) => [s.name, String(s.enabled), describe(s)]),
      ));
    }
    return 0;
  }
  const { McpManager } = await import("../mcp/manager.ts");
  // The vault is opened only when a server names a credential.
  const needsVault = servers.some((s) =>
    Object.keys(s.secretEnv).length > 0 || Object.keys(s.headers).length > 0
  );
  let credentials: import("../vault/types.ts").CredentialStore | undefined;
  if (needsVault) {
    const { openVault } = await import("../vault/open.ts");
    credentials = await openVault({ dataDir: ctx.dataDir, env: ctx.env, create: false });
  }
  const manager = new McpManager(servers, {
    credentials,
    restart: { maxAttempts: 0 },
    log: ctx.verbose ? ctx.log : undefined,
    // The same egress rules as the gateway: the server's own URL plus `egress.allow`.
    egress: { allow: config.egress.allow },
  });
  try {
    await manager.start();
    const tools = manager.listTools();
    const status = manager.status();
    if (ctx.json) {
      printJson(status.map((s) => ({
        ...s,
        target: describe(servers.find((x) => x.name === s.name)!),
        tools: tools.filter((t) => t.server === s.name).map((t) => ({
          name: t.name,
          tool: t.tool,
          tier: t.tier,
          description: t.description,
        })),
      })));
      return 0;
    }
    for (const s of status) {
      print(`${s.name} (${s.transport}): ${s.state}${s.error ? ` - ${s.error}` : ""}`);
      const mine = tools.filter((t) => t.server === s.name);
      if (mine.length) {
        print(table(
          ["  TOOL", "TIER", "DESCRIPTION"],
          mine.map((
            t,
          ) => [`  ${t.name}`, String(t.tier), t.description.split("\n")[0].slice(0, 70)]),
        ));
      }
    }
    return status.some((s) => s.state === "failed") ? 1 : 0;
  } finally {
    await manager.close();
  }
}

async function removeBody(ctx: CommandContext): Promise<number> {
  const { saveConfig } = await import("../config/load.ts");
  const { config, path } = await configOf(ctx);
  const name = String(ctx.args.name);
  if (!config.mcp.servers[name]) {
    printError(`No MCP server is named "${name}".`);
    return 1;
  }
  delete config.mcp.servers[name];
  await saveConfig(path, config);
  print(`Removed MCP server ${name}.`);
  return 0;
}
