/**
 * `wirken channel config <channel> <conversation> [...]`: settings of one conversation or
 * group (`config.conversations`): the agent that answers there, its model, an addition to its
 * instructions, narrower tool and sender lists, and whether a group's messages need a mention. Without options it shows them; `--clear`
 * removes them. Written through the config loader, so the schema checks every value.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

type Settings = Config["conversations"][number];

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === "string" ? v : undefined;
}

function list(text: string): string[] {
  return text.split(",").map((t) => t.trim()).filter(Boolean);
}

async function run(ctx: CommandContext): Promise<number> {
  const [{ dataPaths, ensureDataDir }, { loadConfig, saveConfig }, { UsageError }, out] =
    await Promise.all([
      import("../config/paths.ts"),
      import("../config/load.ts"),
      import("../errors.ts"),
      import("./output.ts"),
    ]);
  const path = dataPaths(ctx.dataDir).config;
  const config = await loadConfig(path);
  const channel = String(ctx.args.channel) as Settings["channel"];
  const conversation = String(ctx.args.conversation);
  const i = config.conversations.findIndex((c) =>
    c.channel === channel && c.conversation === conversation
  );
  const current: Settings = i >= 0 ? config.conversations[i] : { channel, conversation };
  const next: Settings = { ...current };
  const agent = str(ctx, "agent");
  if (agent !== undefined) {
    if (agent && !config.agents.some((a) => a.id === agent)) {
      throw new UsageError(`There is no agent "${agent}".`, "See the agents: wirken agents list");
    }
    agent ? (next.agent = agent) : delete next.agent;
  }
  const model = str(ctx, "model");
  if (model !== undefined) model ? (next.model = model) : delete next.model;
  const prompt = str(ctx, "prompt");
  if (prompt !== undefined) prompt ? (next.systemPrompt = prompt) : delete next.systemPrompt;
  const tools = str(ctx, "tools");
  if (tools !== undefined) next.tools = list(tools);
  if (ctx.flags["all-tools"] === true) delete next.tools;
  const allow = str(ctx, "allow-from");
  if (allow !== undefined) next.allowFrom = list(allow);
  if (ctx.flags["all-senders"] === true) delete next.allowFrom;
  const mode = str(ctx, "group-mode");
  if (mode !== undefined) {
    if (mode === "mention" || mode === "all") next.groupMode = mode;
    else if (mode === "") delete next.groupMode;
    else {
      throw new UsageError(
        `--group-mode is "mention" or "all", not "${mode}".`,
        "Use --group-mode all to answer every message of the group, mention for mentions only.",
      );
    }
  }
  const clear = ctx.flags.clear === true;
  const changed = clear || JSON.stringify(next) !== JSON.stringify(current);
  if (changed) {
    const rest = config.conversations.filter((_, j) => j !== i);
    const keep = !clear && Object.keys(next).length > 2;
    await ensureDataDir(ctx.dataDir);
    await saveConfig(path, { ...config, conversations: keep ? [...rest, next] : rest });
  }
  const shown = clear ? null : next;
  if (ctx.json) {
    out.printJson({ channel, conversation, settings: shown, changed });
    return 0;
  }
  if (!shown || Object.keys(shown).length <= 2) {
    out.print(`${channel}:${conversation} has no settings of its own (the defaults apply).`);
    return 0;
  }
  const rows: string[][] = [];
  if (shown.agent) rows.push(["agent", shown.agent]);
  if (shown.model) rows.push(["model", shown.model]);
  if (shown.systemPrompt) rows.push(["prompt", shown.systemPrompt]);
  if (shown.tools) rows.push(["tools", shown.tools.join(",") || "(none)"]);
  if (shown.allowFrom) rows.push(["allow-from", shown.allowFrom.join(",") || "(nobody)"]);
  if (shown.groupMode) rows.push(["group-mode", shown.groupMode]);
  out.print(`${changed ? "Saved. " : ""}${channel}:${conversation}:`);
  out.print(out.table(["SETTING", "VALUE"], rows));
  return 0;
}

/** The `channel config` subcommand. */
export const channelConfigCommand: CommandSpec = {
  name: "config",
  summary:
    "Show or set one conversation's settings (agent, model, prompt, tools, senders, mentions).",
  description:
    "Settings only narrow: --tools is intersected with the agent's own tools and --allow-from\n" +
    "with the channel's allow-list; permission tiers never change. An empty value unsets.\n" +
    "A conversation id starting with '-' (Telegram groups) goes after `--`.\n" +
    "--group-mode applies when the channel's adapter (re)starts: restart `wirken run`.",
  examples: [
    "wirken channel config --agent family --tools get_weather,web_search telegram -- -100123",
    'wirken channel config slack C0123 --prompt "Answer briefly." --allow-from U1,U2',
    "wirken channel config --group-mode all discord 123456789012345678",
    "wirken channel config --json telegram -- -100123",
  ],
  args: [
    { name: "channel", description: "telegram, discord, slack, ... or webchat.", required: true },
    { name: "conversation", description: "Conversation, group or room id.", required: true },
  ],
  options: {
    agent: { type: "string", description: "Agent that answers here.", valueName: "<id>" },
    model: { type: "string", description: "Model id here.", valueName: "<id>" },
    prompt: {
      type: "string",
      description: "Added to the agent's instructions.",
      valueName: "<text>",
    },
    tools: {
      type: "string",
      description: "Comma-separated tools allowed here.",
      valueName: "<list>",
    },
    "all-tools": { type: "boolean", description: "Remove the tool list (the agent's apply)." },
    "allow-from": {
      type: "string",
      description: "Comma-separated senders who may talk here.",
      valueName: "<list>",
    },
    "all-senders": {
      type: "boolean",
      description: "Remove the sender list (the channel's apply).",
    },
    "group-mode": {
      type: "string",
      description: "In a group: mention (only mentions and replies to the bot) or all.",
      valueName: "<mode>",
    },
    clear: { type: "boolean", description: "Remove every setting of this conversation." },
  },
  json: true,
  run,
};
