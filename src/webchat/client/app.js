/**
 * The WebChat page. Plain JavaScript served as-is (no build step, no CDN). Every piece of text
 * that comes from the server, the model or another channel is placed with `textContent` or as a
 * node built from the Markdown tree; the page never assigns HTML strings (the CSP enforces that
 * with Trusted Types), so nothing a model says can become markup or script.
 *
 * @module
 */
import { parseMarkdown, safeHref, TAGS } from "./markdown.js";

const csrf = meta("wirken-csrf");
const version = meta("wirken-version");
const provider = meta("wirken-provider");

/** @param {string} name */
function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") ?? "";
}

/**
 * Builds an element. Attributes are set with setAttribute for a fixed set of names only.
 * @param {string} tag
 * @param {Record<string, string | boolean | ((e: Event) => void)>} [attrs]
 * @param {...(Node | string | null | undefined)} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") e.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) e.setAttribute(k, "");
    else if (v !== false) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// ---------------------------------------------------------------- state

const state = {
  /** @type {{id: string, name: string, model: string}[]} */
  agents: [],
  agent: "default",
  /** @type {string | undefined} */
  sessionId: undefined,
  /** @type {null | {id: string, text: string, md: HTMLElement, msg: HTMLElement, raf: number}} */
  turn: null,
  /** @type {any[]} */
  pending: [],
  /** Approval ids the user closed with "Decide later": not popped up again. */
  dismissed: new Set(),
  /** @type {WebSocket | null} */
  ws: null,
  retry: 0,
  tab: "chat",
};

// ---------------------------------------------------------------- layout

const agentSelect = h("select", { id: "agent", "data-testid": "agent", "aria-label": "Agent" });
const transcript = h("div", {
  id: "transcript",
  "data-testid": "transcript",
  role: "log",
  "aria-live": "polite",
});
const input = /** @type {HTMLTextAreaElement} */ (h("textarea", {
  id: "input",
  "data-testid": "input",
  rows: "3",
  placeholder: "Message (Enter sends, Shift+Enter for a new line)",
  "aria-label": "Message",
}));
const sendBtn = h("button", { type: "submit", "data-testid": "send" }, "Send");
const stopBtn = h("button", {
  type: "button",
  class: "stop",
  "data-testid": "stop",
  hidden: true,
  onclick: stop,
}, "Stop");
const fileInput = /** @type {HTMLInputElement} */ (h("input", {
  type: "file",
  id: "file",
  "data-testid": "file",
  class: "visually-hidden",
  onchange: upload,
}));
const attachBtn = h("button", {
  type: "button",
  "data-testid": "attach",
  onclick: () => fileInput.click(),
}, "Attach file");
const connection = h("span", { class: "connection", "data-testid": "connection" }, "connecting…");
const sessionList = h("ul", { class: "sessions", "data-testid": "sessions" });
const approvalBadge = h("span", { class: "badge", "data-testid": "approval-count", hidden: true });
const dialog = /** @type {HTMLDialogElement} */ (h("dialog", {
  id: "approval-dialog",
  "data-testid": "approval-dialog",
}));

const panels = {
  chat: h(
    "section",
    { class: "panel chat", "data-testid": "panel-chat" },
    transcript,
    h(
      "form",
      { class: "composer", onsubmit: (e) => (e.preventDefault(), send()) },
      input,
      h("div", { class: "actions" }, fileInput, attachBtn, stopBtn, sendBtn),
    ),
  ),
  approvals: h("section", { class: "panel", "data-testid": "panel-approvals", hidden: true }),
  adapters: h("section", { class: "panel", "data-testid": "panel-adapters", hidden: true }),
  audit: h("section", { class: "panel", "data-testid": "panel-audit", hidden: true }),
  permissions: h("section", { class: "panel", "data-testid": "panel-permissions", hidden: true }),
  credentials: h("section", { class: "panel", "data-testid": "panel-credentials", hidden: true }),
};
/** @type {Record<string, HTMLElement>} */
const tabs = {};
const tabNames = {
  chat: "Chat",
  approvals: "Approvals",
  adapters: "Adapters",
  audit: "Audit log",
  permissions: "Permissions",
  credentials: "Credentials",
};
for (const [key, label] of Object.entries(tabNames)) {
  tabs[key] = h(
    "button",
    { type: "button", role: "tab", "data-testid": `tab-${key}`, onclick: () => showTab(key) },
    label,
    key === "approvals" ? approvalBadge : null,
  );
}

document.getElementById("app")?.append(
  h(
    "header",
    {},
    h("strong", { class: "brand" }, "wirken"),
    h("span", { class: "muted" }, `${version}${provider ? ` · ${provider}` : ""}`),
    h("label", {}, "Agent ", agentSelect),
    h("button", { type: "button", "data-testid": "new-chat", onclick: newChat }, "New chat"),
    h("nav", { role: "tablist" }, ...Object.values(tabs)),
    connection,
    h("button", { type: "button", class: "link", onclick: logout }, "Log out"),
  ),
  h(
    "div",
    { class: "layout" },
    h("aside", {}, h("h2", {}, "Conversations"), sessionList),
    h("main", {}, ...Object.values(panels)),
  ),
  dialog,
);

agentSelect.addEventListener("change", () => {
  state.agent = /** @type {HTMLSelectElement} */ (agentSelect).value;
  newChat();
  loadSessions();
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
tabs.chat.setAttribute("aria-selected", "true");

// ---------------------------------------------------------------- API

/**
 * @param {string} path
 * @param {RequestInit} [init]
 */
async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    credentials: "same-origin",
    headers: { "X-Wirken-CSRF": csrf, ...(init.headers ?? {}) },
  });
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(body?.error ?? `HTTP ${res.status}`);
  return body;
}

/** @param {string} text @param {string} kind */
function note(text, kind = "notice") {
  const e = h("div", { class: `msg ${kind}`, "data-testid": `msg-${kind}` }, text);
  transcript.append(e);
  scrollDown();
  return e;
}

function scrollDown() {
  transcript.scrollTop = transcript.scrollHeight;
}

// ---------------------------------------------------------------- Markdown -> DOM

/**
 * @param {import("./markdown.js").MdNode} node
 * @returns {Node}
 */
function renderNode(node) {
  if (typeof node === "string") return document.createTextNode(node);
  if (!TAGS.has(node.tag)) return document.createTextNode("");
  if (node.tag === "a") {
    const href = safeHref(node.href ?? "");
    const kids = node.children.map(renderNode);
    if (!href) return h("span", {}, ...kids);
    const a = h("a", { rel: "noopener noreferrer nofollow", target: "_blank" }, ...kids);
    /** @type {HTMLAnchorElement} */ (a).href = href;
    return a;
  }
  if (node.tag === "pre") {
    const code = node.children[0];
    const text = typeof code === "object" ? code.children.join("") : String(code ?? "");
    const lang = typeof code === "object" ? code.lang ?? "" : "";
    const copy = h("button", { type: "button", class: "copy", "data-testid": "copy" }, "Copy");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Copy failed";
      }
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    });
    return h(
      "div",
      { class: "code" },
      h("div", { class: "code-bar" }, h("span", {}, lang), copy),
      h("pre", {}, h("code", {}, text)),
    );
  }
  const e = document.createElement(node.tag);
  for (const c of node.children) e.append(renderNode(c));
  return e;
}

/** @param {HTMLElement} target @param {string} text */
function renderMarkdown(target, text) {
  target.replaceChildren(...parseMarkdown(text).map(renderNode));
}

// ---------------------------------------------------------------- chat

function newChat() {
  if (state.turn) stop();
  state.sessionId = undefined;
  transcript.replaceChildren();
  if (state.agents.length === 0) {
    note("No agent is available from this gateway: messages will be answered with the reason.");
  }
  highlightSession();
  showTab("chat");
  input.focus();
}

function send() {
  const text = input.value.trim();
  if (!text || state.turn) return;
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
    note("Not connected to the gateway; retrying. Your message is still in the box.", "error");
    return;
  }
  const id = crypto.randomUUID().replaceAll("-", "");
  transcript.append(h("div", { class: "msg user", "data-testid": "msg-user" }, text));
  const md = h("div", { class: "md" });
  const msg = h("div", { class: "msg assistant streaming", "data-testid": "msg-assistant" }, md);
  transcript.append(msg);
  state.turn = { id, text: "", md, msg, raf: 0 };
  /** @type {Record<string, string>} */
  const message = { type: "send", turn: id, agent: state.agent, text };
  if (state.sessionId) message.sessionId = state.sessionId;
  state.ws.send(JSON.stringify(message));
  input.value = "";
  stopBtn.hidden = false;
  sendBtn.setAttribute("disabled", "");
  scrollDown();
}

function stop() {
  if (state.turn && state.ws?.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({ type: "stop", turn: state.turn.id }));
  }
}

/** @param {any} event */
function onTurnEvent(event) {
  const turn = state.turn;
  if (!turn) return;
  switch (event.type) {
    case "session":
      state.sessionId = String(event.sessionId);
      break;
    case "text":
      turn.text += String(event.text);
      // Re-parse at most once a frame: streaming deltas arrive faster than paints.
      if (!turn.raf) {
        turn.raf = requestAnimationFrame(() => {
          turn.raf = 0;
          renderMarkdown(turn.md, turn.text);
          scrollDown();
        });
      }
      break;
    case "tool_call":
      turn.msg.before(
        h(
          "div",
          { class: "msg tool", "data-testid": "msg-tool", "data-call": String(event.id) },
          h("strong", {}, String(event.tool)),
          " ",
          h("code", {}, short(JSON.stringify(event.args ?? {}), 200)),
        ),
      );
      break;
    case "tool_result": {
      const call = [...transcript.querySelectorAll(".msg.tool")]
        .find((e) => e.getAttribute("data-call") === String(event.id));
      const line = h(
        "div",
        { class: event.ok ? "result ok" : "result failed", "data-testid": "tool-result" },
        `${event.ok ? "✓" : "✗"} ${String(event.summary)}`,
      );
      if (call) call.append(line);
      else turn.msg.before(line);
      break;
    }
    case "approval":
      // The live list arrives separately; this makes sure the dialog opens for our own turn.
      if (!state.pending.some((p) => p.id === event.approval?.id)) {
        state.pending.push(event.approval);
        renderApprovals();
      }
      break;
    case "notice":
      turn.msg.before(h("div", { class: "msg notice", "data-testid": "msg-notice" }, event.text));
      break;
    case "error":
      turn.msg.after(h("div", { class: "msg error", "data-testid": "msg-error" }, event.message));
      break;
    case "done":
      break;
  }
}

/** @param {boolean} stopped */
function endTurn(stopped) {
  const turn = state.turn;
  if (!turn) return;
  if (turn.raf) cancelAnimationFrame(turn.raf);
  renderMarkdown(turn.md, turn.text);
  turn.msg.classList.remove("streaming");
  if (!turn.text) turn.msg.classList.add("empty");
  if (stopped) {
    turn.msg.append(h("div", { class: "stopped", "data-testid": "stopped" }, "Stopped."));
  }
  state.turn = null;
  stopBtn.hidden = true;
  sendBtn.removeAttribute("disabled");
  loadSessions();
}

/** @param {string} s @param {number} n */
function short(s, n) {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

// ---------------------------------------------------------------- sessions

async function loadAgents() {
  try {
    state.agents = await api("/api/agents");
  } catch (e) {
    note(`Agents unavailable: ${errorMessage(e)}`, "error");
  }
  agentSelect.replaceChildren(
    ...(state.agents.length
      ? state.agents.map((a) => h("option", { value: a.id }, `${a.name} (${a.model})`))
      : [h("option", { value: "default" }, "default (not available)")]),
  );
  state.agent = state.agents[0]?.id ?? "default";
}

async function loadSessions() {
  try {
    /** @type {any[]} */
    const list = await api(`/api/sessions?agent=${encodeURIComponent(state.agent)}`);
    sessionList.replaceChildren(
      ...list.map((s) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              "data-session": String(s.id),
              "data-testid": "session",
              onclick: () => openSession(String(s.id)),
            },
            h("span", { class: "title" }, String(s.title || "(untitled)")),
            h("span", { class: "muted" }, `${s.channel} · ${when(s.updatedAt)}`),
          ),
        )
      ),
    );
    highlightSession();
  } catch (e) {
    sessionList.replaceChildren(h("li", { class: "muted" }, errorMessage(e)));
  }
}

function highlightSession() {
  for (const b of sessionList.querySelectorAll("button")) {
    b.classList.toggle("current", b.getAttribute("data-session") === state.sessionId);
  }
}

/** @param {string} id */
async function openSession(id) {
  if (state.turn) return;
  try {
    /** @type {any[]} */
    const entries = await api(`/api/sessions/${encodeURIComponent(id)}/transcript`);
    state.sessionId = id;
    transcript.replaceChildren();
    for (const e of entries) {
      if (e.role === "assistant") {
        const md = h("div", { class: "md" });
        renderMarkdown(md, String(e.text));
        transcript.append(h("div", { class: "msg assistant", "data-testid": "msg-assistant" }, md));
      } else if (e.role === "tool") {
        transcript.append(
          h(
            "div",
            { class: "msg tool", "data-testid": "msg-tool" },
            h("strong", {}, String(e.tool ?? "tool")),
            " ",
            short(String(e.text), 500),
          ),
        );
      } else {
        transcript.append(h("div", { class: "msg user", "data-testid": "msg-user" }, e.text));
      }
    }
    highlightSession();
    showTab("chat");
    scrollDown();
  } catch (e) {
    note(`Could not open that conversation: ${errorMessage(e)}`, "error");
  }
}

// ---------------------------------------------------------------- upload

async function upload() {
  const file = fileInput.files?.[0];
  fileInput.value = "";
  if (!file) return;
  const q = new URLSearchParams({ agent: state.agent, name: file.name });
  try {
    const { path } = await api(`/api/upload?${q}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: file,
    });
    note(`Uploaded ${file.name} to the workspace: ${path}`);
    if (!input.value.includes(path)) input.value += `${input.value ? " " : ""}${path}`;
  } catch (e) {
    note(`Upload of ${file.name} failed: ${errorMessage(e)}`, "error");
  }
}

// ---------------------------------------------------------------- approvals

/** @param {any} a */
function approvalDetails(a) {
  const tierText = ["", "1 (read-only)", "2 (asks; can be remembered)", "3 (asks every time)"];
  const row = (
    /** @type {string} */ k,
    /** @type {string} */ v,
  ) => [h("dt", {}, k), h("dd", { "data-testid": `approval-${k.toLowerCase()}` }, v)];
  return h(
    "div",
    { class: "approval" },
    h(
      "dl",
      {},
      ...row("Tool", String(a.tool)),
      ...row("Tier", tierText[a.tier] ?? String(a.tier)),
      ...row("Sandbox", String(a.sandbox)),
      ...row("Agent", String(a.agent)),
      ...row("Channel", String(a.channel)),
      ...row("Requested", when(a.requestedAt)),
    ),
    h("h3", {}, "Arguments"),
    h("pre", { "data-testid": "approval-args" }, JSON.stringify(a.args, null, 2) ?? "null"),
  );
}

/** @param {any} a @param {() => void} [after] */
function decisionButtons(a, after) {
  const decide = (/** @type {string} */ decision) => () => {
    state.ws?.send(JSON.stringify({ type: "decide", approvalId: String(a.id), decision }));
    state.dismissed.add(a.id);
    after?.();
  };
  return h(
    "div",
    { class: "decide" },
    h(
      "button",
      { type: "button", "data-testid": "approve-once", onclick: decide("once") },
      "Approve once",
    ),
    a.tier === 2
      ? h(
        "button",
        { type: "button", "data-testid": "approve-remember", onclick: decide("remember") },
        "Approve for 30 days",
      )
      : null,
    h(
      "button",
      { type: "button", class: "deny", "data-testid": "deny", onclick: decide("deny") },
      "Deny",
    ),
  );
}

function renderApprovals() {
  const list = state.pending;
  approvalBadge.textContent = String(list.length);
  approvalBadge.hidden = list.length === 0;
  panels.approvals.replaceChildren(
    h("h2", {}, "Pending approvals"),
    list.length === 0 ? h("p", { class: "muted" }, "Nothing is waiting for a decision.") : h(
      "div",
      {},
      ...list.map((a) =>
        h(
          "article",
          { class: "card", "data-testid": "pending-approval" },
          approvalDetails(a),
          decisionButtons(a),
        )
      ),
    ),
  );
  // Pop the dialog for the first approval the user has not put aside.
  const shown = dialog.getAttribute("data-id");
  if (shown && !list.some((a) => a.id === shown)) {
    dialog.removeAttribute("data-id");
    if (dialog.open) dialog.close();
  }
  const next = list.find((a) => !state.dismissed.has(a.id));
  if (next && !dialog.open) {
    dialog.setAttribute("data-id", String(next.id));
    dialog.replaceChildren(
      h("h2", {}, `Approve ${String(next.tool)}?`),
      approvalDetails(next),
      decisionButtons(next, () => dialog.close()),
      h("button", {
        type: "button",
        class: "link",
        "data-testid": "decide-later",
        onclick: () => (state.dismissed.add(next.id), dialog.close()),
      }, "Decide later"),
    );
    dialog.showModal();
  }
}

dialog.addEventListener("close", () => {
  const id = dialog.getAttribute("data-id");
  if (id) state.dismissed.add(id);
  dialog.removeAttribute("data-id");
  // Another one may be waiting behind it.
  setTimeout(renderApprovals, 0);
});

// ---------------------------------------------------------------- read-only panels

/**
 * @param {string[]} head
 * @param {(string | Node)[][]} rows
 * @param {string} testid
 */
function table(head, rows, testid) {
  return h(
    "table",
    { "data-testid": testid },
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", {}, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
  );
}

/** @param {string} key */
async function loadPanel(key) {
  const panel = panels[/** @type {keyof typeof panels} */ (key)];
  const refresh = h("button", { type: "button", onclick: () => loadPanel(key) }, "Refresh");
  try {
    if (key === "adapters") {
      const { adapters } = await api("/api/status");
      panel.replaceChildren(
        h("h2", {}, "Adapters ", refresh),
        adapters.length === 0
          ? h("p", { class: "muted" }, "No channel adapters are running.")
          : table(
            ["Channel", "State", "PID", "Up", "Restarts", "Last error"],
            adapters.map((/** @type {any} */ a) => [
              String(a.channel),
              String(a.state),
              a.pid === null ? "—" : String(a.pid),
              `${a.uptimeSeconds}s`,
              String(a.restarts),
              a.lastError ?? "",
            ]),
            "adapters",
          ),
      );
    } else if (key === "audit") {
      const view = await api("/api/audit?limit=200");
      panel.replaceChildren(
        h("h2", {}, "Audit log ", refresh),
        h(
          "p",
          {
            class: view.verified.ok ? "verified ok" : "verified bad",
            "data-testid": "audit-chain",
          },
          view.verified.ok
            ? `Hash chain verified: ${view.verified.detail}`
            : `Hash chain NOT verified: ${view.verified.detail}`,
        ),
        table(
          ["#", "Time", "Kind", "Actor", "Channel", "Session", "Summary"],
          view.events.map((/** @type {any} */ e) => [
            String(e.seq),
            when(e.time),
            String(e.kind),
            String(e.actor),
            e.channel ?? "",
            e.session ?? "",
            String(e.summary),
          ]),
          "audit",
        ),
      );
    } else if (key === "permissions") {
      /** @type {any[]} */
      const rows = await api("/api/permissions");
      panel.replaceChildren(
        h("h2", {}, "Remembered approvals ", refresh),
        rows.length === 0 ? h("p", { class: "muted" }, "No approvals are remembered.") : table(
          ["Tool", "Agent", "Expires", ""],
          rows.map((p) => [
            String(p.tool),
            String(p.agent),
            when(p.expiresAt),
            h("button", {
              type: "button",
              class: "deny",
              "data-testid": "revoke",
              onclick: () => revoke(String(p.tool), String(p.agent)),
            }, "Revoke"),
          ]),
          "permissions",
        ),
      );
    } else if (key === "credentials") {
      /** @type {any[]} */
      const rows = await api("/api/credentials");
      const soon = Date.now() + 14 * 86400_000;
      panel.replaceChildren(
        h("h2", {}, "Credentials ", refresh),
        h("p", { class: "muted" }, "Names and dates only: values never leave the vault."),
        table(
          ["Name", "Expires", "Updated"],
          rows.map((c) => {
            const exp = c.expiresAt ? Date.parse(c.expiresAt) : NaN;
            const label = c.expiresAt
              ? `${when(c.expiresAt)}${
                exp < Date.now() ? " (expired)" : exp < soon ? " (expires soon)" : ""
              }`
              : "never";
            return [String(c.name), label, when(c.updatedAt)];
          }),
          "credentials",
        ),
      );
    }
  } catch (e) {
    panel.replaceChildren(
      h("h2", {}, tabNames[key], " ", refresh),
      h("p", {
        class: "msg error",
      }, errorMessage(e)),
    );
  }
}

/** @param {string} tool @param {string} agent */
async function revoke(tool, agent) {
  try {
    await api("/api/permissions/revoke", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tool, agent }),
    });
  } catch (e) {
    panels.permissions.append(h("p", { class: "msg error" }, errorMessage(e)));
    return;
  }
  await loadPanel("permissions");
}

/** @param {string} key */
function showTab(key) {
  state.tab = key;
  for (const [k, panel] of Object.entries(panels)) panel.hidden = k !== key;
  for (const [k, tab] of Object.entries(tabs)) tab.setAttribute("aria-selected", String(k === key));
  if (key !== "chat" && key !== "approvals") loadPanel(key);
}

// ---------------------------------------------------------------- socket

function connect() {
  const ws = new WebSocket(
    `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`,
  );
  state.ws = ws;
  ws.addEventListener("open", () => {
    state.retry = 0;
    connection.textContent = "connected";
    connection.className = "connection ok";
  });
  ws.addEventListener("message", (e) => {
    /** @type {any} */
    let m;
    try {
      m = JSON.parse(String(e.data));
    } catch {
      return;
    }
    if (m.type === "event" && m.turn === state.turn?.id) onTurnEvent(m.event);
    else if (m.type === "turn_end" && m.turn === state.turn?.id) endTurn(Boolean(m.stopped));
    else if (m.type === "approvals" && Array.isArray(m.pending)) {
      state.pending = m.pending;
      renderApprovals();
    } else if (m.type === "error") note(String(m.message), "error");
  });
  ws.addEventListener("close", async () => {
    connection.textContent = "disconnected, retrying…";
    connection.className = "connection bad";
    if (state.turn) endTurn(true);
    // A browser cannot see why a handshake failed. Ask the API: a 401 means the gateway was
    // restarted (new token) or we logged out, and retrying would never succeed.
    const probe = await fetch("/api/agents", { credentials: "same-origin" }).catch(() => null);
    if (probe?.status === 401) {
      connection.textContent = "logged out";
      note(
        "This WebChat session has ended (the gateway restarted or you logged out). Open the " +
          "login link that `wirken run` printed to continue.",
        "error",
      );
      return;
    }
    state.retry = Math.min(state.retry + 1, 6);
    setTimeout(connect, 250 * 2 ** state.retry);
  });
}

async function logout() {
  await api("/api/logout", { method: "POST" }).catch(() => {});
  location.reload();
}

/** @param {unknown} iso */
function when(iso) {
  const t = Date.parse(String(iso));
  return Number.isNaN(t) ? String(iso ?? "") : new Date(t).toLocaleString();
}

/** @param {unknown} e */
function errorMessage(e) {
  return e instanceof Error ? e.message : String(e);
}

renderApprovals();
connect();
await loadAgents();
newChat();
await loadSessions();
document.body.setAttribute("data-ready", "true");
