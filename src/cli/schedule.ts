/**
 * `wirken schedule add|list|remove|pause|resume|run-now`: scheduled tasks. A task is a prompt
 * that an agent answers at set times, as its owner, into a target conversation; the running
 * gateway carries it out through the same router as every chat message. The CLI only edits
 * the schedule database (`<data dir>/schedule.db`): `run-now` marks a task due, and the gateway
 * runs it within its next tick (so the no-overlap lease applies to it too).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { ScheduleStore, Task } from "../scheduler/store.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

const ID_ARG = {
  name: "id",
  description: "Task id from `schedule list`.",
  required: true,
} as const;

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

async function openStore(ctx: CommandContext): Promise<ScheduleStore> {
  const [{ ensureDataDir }, { ScheduleStore, scheduleDbPath }] = await Promise.all([
    import("../config/paths.ts"),
    import("../scheduler/store.ts"),
  ]);
  const paths = await ensureDataDir(ctx.dataDir);
  return ScheduleStore.open(scheduleDbPath(paths.root));
}

async function loadConfig(ctx: CommandContext): Promise<Config> {
  const [{ dataPaths }, { loadConfig }] = await Promise.all([
    import("../config/paths.ts"),
    import("../config/load.ts"),
  ]);
  return await loadConfig(dataPaths(ctx.dataDir).config);
}

/**
 * Checks the target `<channel>:<conversation>` and works out the owner: WebChat's one user is
 * `local`; a chat channel's owner must be on its allow-list (else every run would be refused),
 * and may be left out when the allow-list has exactly one person.
 */
export async function resolveTarget(
  config: Config,
  target: string,
  owner: string | undefined,
): Promise<{ channel: string; conversation: string; owner: string }> {
  const [{ UsageError }, { CHANNELS }] = await Promise.all([
    import("../errors.ts"),
    import("../config/schema.ts"),
  ]);
  const i = target.indexOf(":");
  const channel = i > 0 ? target.slice(0, i) : "";
  const conversation = i > 0 ? target.slice(i + 1) : "";
  const known = [...CHANNELS, "webchat"] as readonly string[];
  if (!known.includes(channel) || !conversation) {
    throw new UsageError(
      `"${target}" is not a conversation.`,
      `Use <channel>:<conversation>, e.g. telegram:123456 or webchat:briefing (channels: ${
        known.join(", ")
      }).`,
    );
  }
  if (channel === "webchat") {
    if (owner && owner !== "local") {
      throw new UsageError("WebChat's only user is `local`.", "Leave out --owner.");
    }
    return { channel, conversation, owner: "local" };
  }
  const ch = (config.channels as Record<string, { allowFrom: string[] } | undefined>)[channel];
  if (!ch) {
    throw new UsageError(
      `The ${channel} channel is not configured.`,
      `Add it first: wirken channel add ${channel}`,
    );
  }
  const who = owner ?? (ch.allowFrom.length === 1 ? ch.allowFrom[0] : undefined);
  if (!who) {
    throw new UsageError(
      `Say who the task runs as: --owner <sender id> (one of ${channel}'s allowFrom).`,
      "Approvals the run needs are asked of this person in the target conversation.",
    );
  }
  if (!ch.allowFrom.includes(who)) {
    throw new UsageError(
      `${who} is not on ${channel}'s allow-list, so every run would be refused.`,
      `Add them to channels.${channel}.allowFrom in config.json, or pick another --owner.`,
    );
  }
  return { channel, conversation, owner: who };
}

async function add(ctx: CommandContext): Promise<number> {
  const [{ UsageError }, timing, { print, printJson }] = await Promise.all([
    import("../errors.ts"),
    import("../scheduler/timing.ts"),
    import("./output.ts"),
  ]);
  const config = await loadConfig(ctx);
  const agent = str(ctx, "agent") ?? "default";
  if (!config.agents.some((a) => a.id === agent) && !(agent === "default")) {
    throw new UsageError(`There is no agent "${agent}".`, "See the agents: wirken agents list");
  }
  const to = str(ctx, "to");
  const prompt = str(ctx, "prompt");
  if (!to || !prompt) {
    throw new UsageError(
      "A task needs --to <channel>:<conversation> and --prompt <text>.",
      'e.g. wirken schedule add --cron "0 8 * * 1-5" --to telegram:123 --prompt "Brief me"',
    );
  }
  const target = await resolveTarget(config, to, str(ctx, "owner"));
  const cron = str(ctx, "cron");
  const every = str(ctx, "every");
  const at = str(ctx, "at");
  if ([cron, every, at].filter((x) => x !== undefined).length !== 1) {
    throw new UsageError(
      "Give exactly one of --cron, --every or --at.",
      'e.g. --cron "0 8 * * 1-5", --every 30m, or --at 2026-12-24T18:00',
    );
  }
  const tz = str(ctx, "tz") ?? timing.localTimeZone();
  if (!timing.validTimeZone(tz)) {
    throw new UsageError(`Unknown time zone "${tz}".`, "Use an IANA name such as Europe/Berlin.");
  }
  const t = cron !== undefined
    ? timing.parseCron(cron, tz)
    : every !== undefined
    ? { kind: "every" as const, ms: timing.parseInterval(every) }
    : timing.parseAt(at!, tz);
  const now = Date.now();
  const next = timing.nextRun(t, now, now);
  if (next === null) {
    throw new UsageError(`${at} is in the past.`, "Give a time in the future.");
  }
  const store = await openStore(ctx);
  try {
    const task = store.add({
      agent,
      ...target,
      prompt,
      timing: t,
      missed: ctx.flags["skip-missed"] === true ? "skip" : "run",
      createdAt: now,
      nextRun: next,
    });
    if (ctx.json) printJson(view(task));
    else {
      print(
        `Added task ${task.id}: ${timing.describeTiming(t)}, next run ${
          new Date(next).toISOString()
        }.`,
      );
      print("The gateway (wirken run) carries it out.");
    }
  } finally {
    store.close();
  }
  return 0;
}

function view(t: Task) {
  return {
    id: t.id,
    agent: t.agent,
    to: `${t.channel}:${t.conversation}`,
    owner: t.owner,
    prompt: t.prompt,
    timing: t.timing,
    missed: t.missed,
    paused: t.paused,
    nextRun: t.nextRun === null ? null : new Date(t.nextRun).toISOString(),
    lastRun: t.lastRun === null ? null : new Date(t.lastRun).toISOString(),
    lastStatus: t.lastStatus,
    lastDetail: t.lastDetail,
  };
}

async function list(ctx: CommandContext): Promise<number> {
  const [{ print, printJson, table }, { describeTiming }] = await Promise.all([
    import("./output.ts"),
    import("../scheduler/timing.ts"),
  ]);
  const store = await openStore(ctx);
  try {
    const tasks = store.list();
    if (ctx.json) {
      printJson(tasks.map(view));
      return 0;
    }
    if (!tasks.length) {
      print('No scheduled tasks. Add one: wirken schedule add --every 1h --to ... --prompt "..."');
      return 0;
    }
    print(table(
      ["ID", "WHEN", "AGENT", "TO", "NEXT", "LAST"],
      tasks.map((t) => [
        t.id,
        describeTiming(t.timing),
        t.agent,
        `${t.channel}:${t.conversation}`,
        t.paused ? "paused" : t.nextRun === null ? "done" : new Date(t.nextRun).toISOString(),
        t.lastStatus ?? "-",
      ]),
    ));
  } finally {
    store.close();
  }
  return 0;
}

/** remove, pause, resume and run-now: one task by id. */
function byId(
  action: "remove" | "pause" | "resume" | "run-now",
): (ctx: CommandContext) => Promise<number> {
  return async (ctx) => {
    const [{ UsageError }, { print, printJson }, { nextRun }] = await Promise.all([
      import("../errors.ts"),
      import("./output.ts"),
      import("../scheduler/timing.ts"),
    ]);
    const id = String(ctx.args.id);
    const store = await openStore(ctx);
    try {
      const task = store.get(id);
      if (!task) {
        throw new UsageError(`There is no task "${id}".`, "See the tasks: wirken schedule list");
      }
      let said: string;
      if (action === "remove") {
        store.remove(id);
        said = `Removed task ${id}.`;
      } else if (action === "pause") {
        store.setPaused(id, true);
        said = `Paused task ${id}.`;
      } else if (action === "resume") {
        store.setPaused(id, false);
        // Runs missed while paused are not made up for: the next time from now on.
        const now = Date.now();
        store.setNextRun(id, nextRun(task.timing, now, task.createdAt));
        said = `Resumed task ${id}.`;
      } else {
        if (task.paused) {
          throw new UsageError(`Task ${id} is paused.`, `Resume it: wirken schedule resume ${id}`);
        }
        // Due now; after the run the task goes on with its own times.
        store.setNextRun(id, Date.now());
        said = `Task ${id} runs within a few seconds if the gateway (wirken run) is running.`;
      }
      if (ctx.json) {
        const after = store.get(id);
        printJson({ id, action, task: after ? view(after) : null });
      } else print(said);
    } finally {
      store.close();
    }
    return 0;
  };
}

/** The `schedule` command group. */
export const scheduleCommand: CommandSpec = {
  name: "schedule",
  summary: "Scheduled tasks: an agent answers a prompt at set times into a conversation.",
  description:
    "Runs are normal agent turns through the router, as the task's owner: the same allow-list,\n" +
    "rate limits, tools, approval tiers, audit and budgets apply. The gateway must be running.",
  examples: [
    'wirken schedule add --agent default --cron "0 8 * * 1-5" --tz Europe/Berlin --to telegram:123456 --prompt "Brief me on today\'s calendar"',
    'wirken schedule add --every 30m --to webchat:status --prompt "Check the build"',
    "wirken schedule list --json",
  ],
  subcommands: [
    {
      name: "add",
      summary: "Add a task (--cron, --every or --at).",
      examples: [
        'wirken schedule add --cron "0 8 * * 1-5" --to telegram:123456 --prompt "Morning briefing"',
        'wirken schedule add --at 2026-12-24T18:00 --tz Europe/Berlin --to webchat:xmas --prompt "Remind me"',
      ],
      options: {
        agent: {
          type: "string",
          description: "Agent that answers (default: default).",
          valueName: "<id>",
        },
        cron: { type: "string", description: "Five-field cron expression.", valueName: "<expr>" },
        every: {
          type: "string",
          description: "Interval: 30m, 2h, 1d (at least 1m).",
          valueName: "<interval>",
        },
        at: { type: "string", description: "One run at this ISO time.", valueName: "<time>" },
        tz: {
          type: "string",
          description: "IANA time zone (default: this machine's).",
          valueName: "<zone>",
        },
        to: {
          type: "string",
          description: "Target conversation <channel>:<conversation>.",
          valueName: "<target>",
        },
        owner: {
          type: "string",
          description: "Sender the task runs as (on the channel's allow-list).",
          valueName: "<id>",
        },
        prompt: {
          type: "string",
          description: "What the agent is asked each time.",
          valueName: "<text>",
        },
        "skip-missed": {
          type: "boolean",
          description: "Do not make up a run missed while the gateway was down.",
        },
      },
      json: true,
      run: add,
    },
    {
      name: "list",
      summary: "List tasks with their next and last runs.",
      examples: ["wirken schedule list", "wirken schedule list --json"],
      json: true,
      run: list,
    },
    {
      name: "remove",
      summary: "Delete a task.",
      examples: ["wirken schedule remove k3j9xz"],
      args: [ID_ARG],
      json: true,
      run: byId("remove"),
    },
    {
      name: "pause",
      summary: "Stop a task from running until resumed.",
      examples: ["wirken schedule pause k3j9xz"],
      args: [ID_ARG],
      json: true,
      run: byId("pause"),
    },
    {
      name: "resume",
      summary: "Resume a paused task from its next time.",
      examples: ["wirken schedule resume k3j9xz"],
      args: [ID_ARG],
      json: true,
      run: byId("resume"),
    },
    {
      name: "run-now",
      summary: "Mark a task due now; the running gateway carries it out.",
      examples: ["wirken schedule run-now k3j9xz"],
      args: [ID_ARG],
      json: true,
      run: byId("run-now"),
    },
  ],
};
