/**
 * A minimal Matrix homeserver for tests: enough of the client-server API for matrix-js-sdk's
 * sync loop (versions, filters, push rules, capabilities, long-polled `/sync`), sending and
 * redacting nothing fancy: send, join, leave, typing, whoami, password login, media upload and
 * authenticated download. Tests push timeline events and invites into `/sync`; everything the
 * bot sends is recorded.
 *
 * @module
 */

/** One event the bot sent. */
export interface SentEvent {
  roomId: string;
  type: string;
  content: Record<string, unknown>;
  eventId: string;
}

/** A running fake. */
export interface FakeHomeserver {
  url: string;
  sent: SentEvent[];
  joined: string[];
  left: string[];
  typing: string[];
  /** Paths the fake did not know (to keep the fake honest). */
  unknown: string[];
  /** How many `/sync` requests were answered. */
  readonly syncs: number;
  /** Adds a joined room with `members` and optional state (e.g. encryption). */
  addRoom(roomId: string, members: string[], state?: Record<string, unknown>[]): void;
  /** Delivers a timeline event in `roomId` through the next sync; returns its id. */
  push(
    roomId: string,
    event: { type: string; sender: string; content: Record<string, unknown> },
  ): string;
  /** Delivers an invite of the bot into `roomId` from `inviter`. */
  invite(roomId: string, inviter: string, encrypted?: boolean): void;
  /** Uploaded media by mxc URL. */
  media: Map<string, { type: string; data: Uint8Array }>;
  /** Makes the next `n` syncs fail with HTTP 502 (reconnect tests). */
  failSyncs(n: number): void;
  close(): Promise<void>;
}

/** Starts the fake for bot `userId` with `accessToken`. */
export function fakeHomeserver(
  o: { userId: string; accessToken: string; password?: string },
): FakeHomeserver {
  const sent: SentEvent[] = [];
  const joined: string[] = [];
  const left: string[] = [];
  const typing: string[] = [];
  const unknown: string[] = [];
  const media = new Map<string, { type: string; data: Uint8Array }>();
  const rooms = new Map<
    string,
    { members: string[]; state: Record<string, unknown>[]; fresh: boolean }
  >();
  let pendingTimeline: { roomId: string; event: Record<string, unknown> }[] = [];
  let pendingInvites: { roomId: string; events: Record<string, unknown>[] }[] = [];
  let batch = 0;
  let seq = 0;
  let failing = 0;
  let wake: (() => void) | null = null;
  const closing = new AbortController();
  const poke = () => {
    wake?.();
    wake = null;
  };

  function memberEvent(roomId: string, userId: string): Record<string, unknown> {
    return {
      type: "m.room.member",
      state_key: userId,
      sender: userId,
      content: { membership: "join", displayname: userId.slice(1, userId.indexOf(":")) },
      event_id: `$m${++seq}`,
      origin_server_ts: Date.now() - 60_000,
      room_id: roomId,
    };
  }

  let syncs = 0;
  async function sync(url: URL): Promise<Response> {
    syncs++;
    if (failing > 0) {
      failing--;
      return Response.json({ errcode: "M_UNKNOWN", error: "bad gateway" }, { status: 502 });
    }
    const since = url.searchParams.get("since");
    const timeout = Math.min(Number(url.searchParams.get("timeout") ?? "0"), 500);
    const fresh = [...rooms.values()].some((r) => r.fresh);
    if (since && pendingTimeline.length === 0 && pendingInvites.length === 0 && !fresh) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, timeout);
        wake = () => {
          clearTimeout(t);
          r();
        };
        closing.signal.addEventListener("abort", () => r(), { once: true });
      });
    }
    const join: Record<string, unknown> = {};
    const events = pendingTimeline;
    pendingTimeline = [];
    for (const [roomId, room] of rooms) {
      const timeline = events.filter((e) => e.roomId === roomId).map((e) => e.event);
      if (!room.fresh && timeline.length === 0) continue;
      join[roomId] = {
        state: {
          events: room.fresh
            ? [
              {
                type: "m.room.create",
                state_key: "",
                sender: room.members[0],
                content: { room_version: "10" },
                event_id: `$c${++seq}`,
                origin_server_ts: Date.now() - 120_000,
              },
              ...room.members.map((m) => memberEvent(roomId, m)),
              ...room.state,
            ]
            : [],
        },
        timeline: { events: timeline, limited: false, prev_batch: `p${batch}` },
        ephemeral: { events: [] },
        account_data: { events: [] },
        unread_notifications: {},
        summary: room.fresh ? { "m.joined_member_count": room.members.length } : {},
      };
      room.fresh = false;
    }
    const invite: Record<string, unknown> = {};
    for (const i of pendingInvites) invite[i.roomId] = { invite_state: { events: i.events } };
    pendingInvites = [];
    return Response.json({
      next_batch: `s${++batch}`,
      rooms: { join, invite, leave: {} },
      account_data: { events: [] },
      presence: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
    });
  }

  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    const p = decodeURIComponent(url.pathname);
    if (p === "/_matrix/client/versions") {
      return Response.json({ versions: ["v1.1", "v1.5", "v1.11"], unstable_features: {} });
    }
    if (p === "/_matrix/client/v3/login" && req.method === "POST") {
      const body = await req.json() as { identifier?: { user?: string }; password?: string };
      if (o.password && body.password === o.password) {
        return Response.json({ user_id: o.userId, access_token: o.accessToken, device_id: "D1" });
      }
      return Response.json({ errcode: "M_FORBIDDEN", error: "bad login" }, { status: 403 });
    }
    const auth = req.headers.get("authorization");
    if (auth !== `Bearer ${o.accessToken}`) {
      return Response.json({ errcode: "M_UNKNOWN_TOKEN", error: "unknown token" }, { status: 401 });
    }
    let m: RegExpExecArray | null;
    if (p === "/_matrix/client/v3/account/whoami") {
      return Response.json({ user_id: o.userId, device_id: "D1" });
    }
    if (p === "/_matrix/client/v3/sync") return await sync(url);
    if ((m = /^\/_matrix\/client\/v3\/user\/[^/]+\/filter$/.exec(p))) {
      await req.body?.cancel();
      return Response.json({ filter_id: "f1" });
    }
    if (/^\/_matrix\/client\/v3\/user\/[^/]+\/filter\/[^/]+$/.test(p)) {
      return Response.json({ room: { timeline: { limit: 10 } } });
    }
    if (p === "/_matrix/client/v3/pushrules/" || p === "/_matrix/client/v3/pushrules") {
      return Response.json({
        global: { override: [], content: [], room: [], sender: [], underride: [] },
      });
    }
    if (p === "/_matrix/client/v3/capabilities") return Response.json({ capabilities: {} });
    if ((m = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/send\/([^/]+)\/([^/]+)$/.exec(p))) {
      const content = await req.json() as Record<string, unknown>;
      const eventId = `$out${++seq}`;
      sent.push({ roomId: m[1], type: m[2], content, eventId });
      // Echo the bot's own event back through sync, as a real server does.
      pendingTimeline.push({
        roomId: m[1],
        event: {
          type: m[2],
          sender: o.userId,
          content,
          event_id: eventId,
          origin_server_ts: Date.now(),
          unsigned: { transaction_id: m[3] },
        },
      });
      poke();
      return Response.json({ event_id: eventId });
    }
    if (
      (m = /^\/_matrix\/client\/v3\/(?:join|rooms)\/([^/]+)(?:\/join)?$/.exec(p)) &&
      req.method === "POST"
    ) {
      await req.body?.cancel();
      joined.push(m[1]);
      const room = rooms.get(m[1]);
      if (room) {
        if (!room.members.includes(o.userId)) room.members.push(o.userId);
        room.fresh = true;
      } else rooms.set(m[1], { members: [o.userId], state: [], fresh: true });
      poke();
      return Response.json({ room_id: m[1] });
    }
    if ((m = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/leave$/.exec(p))) {
      await req.body?.cancel();
      left.push(m[1]);
      return Response.json({});
    }
    if ((m = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/typing\/[^/]+$/.exec(p))) {
      await req.body?.cancel();
      typing.push(m[1]);
      return Response.json({});
    }
    if (p === "/_matrix/media/v3/upload" && req.method === "POST") {
      const data = new Uint8Array(await req.arrayBuffer());
      const mxc = `mxc://fake.test/up${++seq}`;
      media.set(mxc, { type: req.headers.get("content-type") ?? "", data });
      return Response.json({ content_uri: mxc });
    }
    if ((m = /^\/_matrix\/client\/v1\/media\/download\/([^/]+)\/([^/]+)$/.exec(p))) {
      const item = media.get(`mxc://${m[1]}/${m[2]}`);
      if (!item) return Response.json({ errcode: "M_NOT_FOUND" }, { status: 404 });
      return new Response(item.data as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": item.type },
      });
    }
    unknown.push(`${req.method} ${p}`);
    await req.body?.cancel();
    return Response.json({ errcode: "M_UNRECOGNIZED", error: "unrecognized" }, { status: 404 });
  });

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    sent,
    joined,
    left,
    typing,
    unknown,
    get syncs() {
      return syncs;
    },
    media,
    addRoom(roomId, members, state = []) {
      rooms.set(roomId, { members: [...members, o.userId], state, fresh: true });
      poke();
    },
    push(roomId, e) {
      const id = `$in${++seq}`;
      pendingTimeline.push({
        roomId,
        event: { ...e, event_id: id, origin_server_ts: Date.now(), room_id: roomId },
      });
      poke();
      return id;
    },
    invite(roomId, inviter, encrypted = false) {
      const events: Record<string, unknown>[] = [
        { type: "m.room.create", state_key: "", sender: inviter, content: {} },
        {
          type: "m.room.member",
          state_key: inviter,
          sender: inviter,
          content: { membership: "join" },
        },
        {
          type: "m.room.member",
          state_key: o.userId,
          sender: inviter,
          content: { membership: "invite" },
        },
      ];
      if (encrypted) {
        events.push({
          type: "m.room.encryption",
          state_key: "",
          sender: inviter,
          content: { algorithm: "m.megolm.v1.aes-sha2" },
        });
      }
      rooms.set(roomId, { members: [inviter], state: encrypted ? [events[3]] : [], fresh: false });
      pendingInvites.push({ roomId, events });
      poke();
    },
    failSyncs(n) {
      failing = n;
    },
    async close() {
      closing.abort();
      await server.shutdown();
    },
  };
}
