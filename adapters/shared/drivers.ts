/**
 * Which driver runs a channel. Chat libraries load lazily here, so an adapter process only
 * ever loads its own channel's library. The per-channel drivers (`adapters/<channel>/main.ts`)
 * are built by their own issues; until one lands, that channel gets a placeholder that stays
 * connected and answers every outbound message with a clear error.
 *
 * @module
 */
import type { Channel } from "../../src/config/schema.ts";
import type { ChannelDriver } from "./runtime.ts";

/** A driver for a channel whose chat library is not in this build yet. */
export function placeholderDriver(channel: Channel): ChannelDriver {
  const error = `the ${channel} chat library is not part of this version of wirken yet`;
  return {
    start(ctx) {
      ctx.log.warn(error);
      return new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
    },
    onOutbound: () => Promise.resolve({ ok: false, messageId: "", error }),
  };
}

/** Loads the driver for `channel` (`kind: "test"` selects the test-suite driver). */
export async function loadDriver(
  channel: Channel,
  kind: "channel" | "test",
): Promise<ChannelDriver> {
  if (kind === "test") {
    const { createTestDriver } = await import("../testing/driver.ts");
    return createTestDriver();
  }
  // Literal specifiers, so the module graph (and a compiled binary) includes each driver while
  // only the running channel's driver and chat library are ever evaluated.
  switch (channel) {
    case "telegram":
      return (await import("../telegram/main.ts")).createTelegramDriver();
    case "discord":
      return (await import("../discord/main.ts")).createDiscordDriver();
    case "slack":
      return (await import("../slack/main.ts")).createSlackDriver();
    case "whatsapp":
      return (await import("../whatsapp/main.ts")).createDriver();
    case "teams":
      return (await import("../teams/main.ts")).createDriver();
    case "matrix":
      return (await import("../matrix/main.ts")).createDriver();
    default:
      return placeholderDriver(channel);
  }
}
