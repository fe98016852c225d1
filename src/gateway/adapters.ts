/**
 * The gateway's adapter side in one call: the IPC server on `<data>/sockets/gateway.sock`, the
 * supervisor that runs one adapter process per configured channel, and the bridge that turns
 * each authenticated inbound message into a router dispatch and sends the answer back on the
 * message's own {@linkcode SessionHandle} (the only way to send).
 *
 * `gateway.ts` calls {@linkcode startAdapterHost} once it has the vault and the audit log.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import type { DataPaths } from "../config/paths.ts";
import type { Channel, Config } from "../config/schema.ts";
import { groupModesToSend } from "../ipc/bundle.ts";
import type { Attachment } from "../ipc/codec.ts";
import { type InboundEvent, type IpcServer, startIpcServer } from "../ipc/server.ts";
import type { ChannelLink, SessionHandle } from "../ipc/session.ts";
import type { Logger } from "../log/logger.ts";
import type { CredentialStore } from "../vault/types.ts";
import { StrangerAudit, withAttachments } from "./inbox.ts";
import type { PreviewSink } from "./preview.ts";
import { MANIFESTS } from "../../adapters/shared/manifests.ts";
import { supervisorEnv } from "./channel_settings.ts";
import { supervisedChannels, Supervisor } from "./supervisor.ts";

/** The router's answer, reduced to what goes back to the chat. */
export type InboundAnswer =
  | { status: "answered"; text: string; attachments?: Attachment[]; editId?: string }
  | { status: "limited"; message: string }
  | { status: "failed"; message: string; editId?: string }
  | { status: "refused" };

/** Options of {@linkcode startAdapterHost}. */
export interface AdapterHostOptions {
  config: Config;
  paths: DataPaths;
  /** The vault: adapter keys and channel secrets are read from it at each (re)start. */
  credentials: CredentialStore;
  audit: AuditSink;
  log: Logger;
  /**
   * Handles one message (the router's `dispatch`). `handle` carries the authenticated channel;
   * `message.channel` equals `handle.channel` and never comes from the adapter's payload.
   */
  dispatch(
    message: { channel: string; conversation: string; sender: string; text: string },
    handle: SessionHandle<Channel>,
    preview?: PreviewSink,
  ): Promise<InboundAnswer>;
  verbose?: boolean;
  /** Start adapter processes (default true; false: socket only). */
  supervise?: boolean;
}

/** The running adapter side. */
export interface AdapterHost {
  socketPath: string;
  server: IpcServer;
  supervisor: Supervisor;
  /** Stops every adapter (no orphans), then the socket. Idempotent. */
  close(): Promise<void>;
}

/** Shows "typing..." in the event's own conversation (generic, so no channel can mix). */
function showTyping<C extends Channel>(e: { link: ChannelLink<C>; handle: SessionHandle<C> }) {
  return e.link.typing(e.handle);
}

/** Starts the IPC server and the supervisor; see the module doc. */
export async function startAdapterHost(o: AdapterHostOptions): Promise<AdapterHost> {
  const log = o.log;
  const strangers = new StrangerAudit(o.audit);
  async function onInbound(event: InboundEvent): Promise<void> {
    const m = event.message;
    // The address comes from the handle, which the IPC server minted from the authenticated
    // connection: the router never sees a channel the adapter merely claimed.
    const address = {
      channel: event.handle.channel,
      conversation: event.handle.conversationId,
      sender: m.senderId,
    };
    let input = m.text;
    const skipped = m.metadata.attachmentsSkipped;
    const allowed = o.config.channels[event.handle.channel]?.allowFrom.includes(m.senderId);
    // Files are written only for senders on the allow-list (the router refuses the others).
    if (allowed && (m.attachments.length > 0 || skipped)) {
      input = await withAttachments(o.config, o.paths, address, input, m.attachments, skipped)
        .catch((e) => {
          log.warn("could not save attachments", { channel: event.channel, error: String(e) });
          return `${input}\n\n[Attachments could not be saved]`;
        });
    }
    // "typing..." while the agent works, only for senders it will answer.
    if (allowed) showTyping(event).catch(() => {});
    // The preview message (streamed answers) is a reply to the question, edited as text comes.
    const preview: PreviewSink = async (text, editId) => {
      const r = await event.reply({ text, replyToId: m.id, editId });
      return r.ok ? r.messageId : "";
    };
    // Only platforms that can edit a sent message get previews (not WhatsApp).
    const canEdit = MANIFESTS[event.handle.channel].limits.supportsEdit;
    const answer = await o.dispatch(
      { ...address, text: input },
      event.handle,
      canEdit ? preview : undefined,
    );
    if (answer.status === "refused") {
      strangers.refused(address.channel, m.senderId, m.conversationId);
    }
    const text = answer.status === "answered"
      ? answer.text
      : answer.status === "refused"
      ? null
      : answer.message;
    if (text) {
      const attachments = answer.status === "answered" ? answer.attachments : undefined;
      const editId = answer.status === "answered" || answer.status === "failed"
        ? answer.editId
        : undefined;
      const result = await event.reply({ text, replyToId: m.id, attachments, editId });
      if (!result.ok) {
        log.warn("adapter could not deliver a reply", {
          channel: event.channel,
          error: result.error,
        });
      }
    }
  }
  const server = await startIpcServer({
    socketPath: o.paths.gatewaySocket,
    config: o.config,
    audit: o.audit,
    log,
    onInbound,
  });
  const adapterEnv = supervisorEnv(o.config, Deno.env.toObject());
  const supervisor = new Supervisor({
    channels: o.supervise === false ? [] : supervisedChannels(o.config),
    socketPath: o.paths.gatewaySocket,
    gatewayPublicKey: server.gatewayPublicKey,
    credentials: o.credentials,
    audit: o.audit,
    log,
    liveness: server,
    verbose: o.verbose,
    // Channel settings from config (Matrix homeserver and invite allow-list, webhook ports)
    // reach the adapters as their manifest's env names; adapters read no config file.
    env: adapterEnv,
    // The per-conversation mention rule of groups; the adapter applies it where it knows
    // whether the bot was mentioned, before downloading anything.
    groupModes: (channel) =>
      groupModesToSend(
        o.config.conversations ?? [],
        channel,
        // The default the adapter itself falls back to, so only rules that change it are sent.
        adapterEnv[`${channel.toUpperCase()}_GROUP_MODE`],
      ),
  });
  try {
    await supervisor.start();
  } catch (e) {
    await server.close();
    throw e;
  }
  let closed: Promise<void> | null = null;
  return {
    socketPath: o.paths.gatewaySocket,
    server,
    supervisor,
    close() {
      closed ??= (async () => {
        await supervisor.stop();
        await server.close();
      })();
      return closed;
    },
  };
}
