/**
 * `wirken agents add|list|remove|bind`: named agents (each with its own model, prompt, tool
 * allow-list and workspace) and the routes that send a channel, conversation or sender to one.
 * Every change goes through the config loader, so it is validated and written atomically.
 *
 * @module
 */
import type { Config, ProviderConfig } from "../config/schema.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

const ID_ARG = { name: "id", description: "Agent id.", required: true } as const;

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

async function load(ctx: CommandContext): Promise<{ path: string; config: Config }> {
  const [{ dataPaths }, { loadConfig }] = await Promise.all([
    import("../config/paths.ts"),
    import("../config/load.ts"),
  ]);
  const path = dataPaths(ctx.dataDir).config;
  return { path, config: await loadConfig(path) };
}

async function save(ctx: CommandContext, path: string, config: Config): Promise<void> {
  const [{ ensureDataDir }, { saveConfig }] = await Promise.all([
    import("../config/paths.ts"),
    import("../config/load.ts"),
  ]);
  await ensureDataDir(ctx.dataDir);
  await saveConfig(path, config);
}

async function add(ctx: CommandContext): Promise<number> {
  const { UsageError } = await import("../errors.ts");
  const { print } = await import("./output.ts");
  const { path, config } = await load(ctx);
  const id = String(ctx.args.id);
  if (config.agents.some((a) => a.id === id)) {
    throw new UsageError(
      `Agent "${id}" already exists.`,
      `Remove it first: wirken agents remove ${id}`,
    );
  }
  const kind = str(ctx, "provider");
  const model = str(ctx, "model");
  if (kind && !model) {
    throw new UsageError(
      "--provider needs --model.",
      `e.g. wirken agents add ${id} --provider ${kind} --model <id>`,
    );
  }
  const tools = str(ctx, "tools")?.split(",").map((t) => t.trim()).filter(Boolean);
  const agent: Config["agents"][number] = {
    id,
    ...(str(ctx, "name") ? { name: str(ctx, "name") } : {}),
    // The kind is checked by the schema when the config is saved.
    ...(kind ? { provider: { kind: kind as ProviderConfig["kind"], model: model! } } : {}),
    ...(!kind && model ? { model } : {}),
    ...(str(ctx, "prompt") ? { systemPrompt: str(ctx, "prompt") } : {}),
    ...(tools ? { tools } : {}),
    ...(str(ctx, "workspace") ? { workspace: str(ctx, "workspace") } : {}),
  };
  await save(ctx, path, { ...config, agents: [...config.agents, agent] });
  print(`Added agent ${id}. Route a channel to it: wirken agents bind ${id} <channel>`);
  return 0;
}

async function list(ctx: CommandContext): Promise<number> {
  const [{ print, printJson, table }, { effectiveModel }] = await Promise.all([
    import("./output.ts"),
    import("../router/bindings.ts"),
  ]);
  const { config } = await load(ctx);
  const rows = config.agents.map((a) => {
    const m = effectiveModel(config, a);
    return {
      id: a.id,
      name: a.name ?? null,
      provider: m.kind,
      model: m.model,
      tools: a.tools ?? null,
      workspace: a.workspace ?? null,
      routes: config.routes.filter((r) => r.agent === a.id),
    };
  });
  if (ctx.json) {
    printJson(rows);
    return 0;
  }
  const where = (r: Config["routes"][number]) =>
    r.channel + (r.conversation ? `/${r.conversation}` : "") +
    (r.sender ? ` from ${r.sender}` : "");
  print(table(
    ["AGENT", "MODEL", "TOOLS", "ROUTES"],
    rows.map((r) => [
      r.id + (r.name ? ` (${r.name})` : ""),
      `${r.provider}:${r.model}`,
      r.tools ? r.tools.join(",") || "none" : "all",
      r.routes.map(where).join(", ") || (r.id === "default" ? "(everything unrouted)" : "-"),
    ]),
  ));
  return 0;
}

async function remove(ctx: CommandContext): Promise<number> {
  const { UsageError } = await import("../errors.ts");
  const { print } = await import("./output.ts");
  const { path, config } = await load(ctx);
  const id = String(ctx.args.id);
  if (!config.agents.some((a) => a.id === id)) {
    throw new UsageError(`There is no agent "${id}".`, "See the agents: wirken agents list");
  }
  if (config.agents.length === 1) {
    throw new UsageError(
      `"${id}" is the only agent.`,
      "Add another agent before removing this one.",
    );
  }
  const dropped = config.routes.filter((r) => r.agent === id).length;
  await save(ctx, path, {
    ...config,
    agents: config.agents.filter((a) => a.id !== id),
    routes: config.routes.filter((r) => r.agent !== id),
  });
  print(
    `Removed agent ${id}` + (dropped ? ` and its ${dropped} route(s).` : ".") +
      " Its stored sessions stay until `wirken sessions clear`.",
  );
  return 0;
}

async function bind(ctx: CommandContext): Promise<number> {
  const { UsageError } = await import("../errors.ts");
  const { print } = await import("./output.ts");
  const { CHANNELS } = await import("../config/schema.ts");
  const { path, config } = await load(ctx);
  const id = String(ctx.args.id);
  const channel = String(ctx.args.channel);
  if (!config.agents.some((a) => a.id === id)) {
    throw new UsageError(`There is no agent "${id}".`, `Add it first: wirken agents add ${id}`);
  }
  const channels: readonly string[] = [...CHANNELS, "webchat"];
  if (!channels.includes(channel)) {
    throw new UsageError(`Unknown channel "${channel}".`, `Use one of: ${channels.join(", ")}.`);
  }
  const conversation = str(ctx, "conversation");
  const sender = str(ctx, "sender");
  // One route per (channel, conversation, sender): binding again moves it to the new agent.
  const routes = config.routes.filter((r) =>
    !(r.channel === channel && r.conversation === conversation && r.sender === sender)
  );
  routes.push({
    channel: channel as Config["routes"][number]["channel"],
    ...(conversation ? { conversation } : {}),
    ...(sender ? { sender } : {}),
    agent: id,
  });
  await save(ctx, path, { ...config, routes });
  const what = channel + (conversation ? ` conversation ${conversation}` : "") +
    (sender ? ` from ${sender}` : "");
  print(`Messages on ${what} now go to ${id}. A running gateway picks this up on restart.`);
  return 0;
}

/** The `agents` command group. */
export const agentsCommand: CommandSpec = {
  name: "agents",
  summary: "Add, list, remove and bind agents.",
  examples: ["wirken agents list", "wirken agents bind research telegram"],
  subcommands: [
    {
      name: "add",
      summary: "Add an agent.",
      examples: [
        "wirken agents add research --model gpt-4o",
        'wirken agents add ops --provider ollama --model qwen3 --tools read_file,exec --prompt "Be brief."',
      ],
      args: [ID_ARG],
      options: {
        model: {
          type: "string",
          description: "Model id (keeps the provider unless --provider).",
          valueName: "<id>",
        },
        provider: { type: "string", description: "Provider for this agent.", valueName: "<name>" },
        prompt: {
          type: "string",
          description: "Extra instructions (system prompt).",
          valueName: "<text>",
        },
        tools: {
          type: "string",
          description: "Comma-separated tool allow-list (default: all).",
          valueName: "<a,b>",
        },
        name: { type: "string", description: "Display name.", valueName: "<name>" },
        workspace: {
          type: "string",
          description: "Folder its file tools are confined to.",
          valueName: "<dir>",
        },
      },
      run: add,
    },
    {
      name: "list",
      summary: "List agents.",
      examples: ["wirken agents list --json"],
      json: true,
      run: list,
    },
    {
      name: "remove",
      summary: "Remove an agent.",
      examples: ["wirken agents remove research"],
      args: [ID_ARG],
      run: remove,
    },
    {
      name: "bind",
      summary: "Route a channel (or one conversation, or one sender) to an agent.",
      examples: [
        "wirken agents bind research telegram",
        "wirken agents bind ops slack --conversation C024BE91L",
      ],
      args: [ID_ARG, { name: "channel", description: "Channel to route.", required: true }],
      options: {
        conversation: { type: "string", description: "Only this conversation.", valueName: "<id>" },
        sender: { type: "string", description: "Only this sender.", valueName: "<id>" },
      },
      run: bind,
    },
  ],
};
