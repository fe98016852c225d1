/**
 * What WebChat needs from the gateway, as one interface. The gateway (src/gateway/) implements
 * it by entering the same router every channel uses, so rate limits, permissions and audit
 * apply to WebChat exactly as to Telegram: there is no side door. Tests pass a fake.
 *
 * @module
 */

/** An agent the user can pick. */
export interface AgentInfo {
  id: string;
  name: string;
  model: string;
}

/** One stored conversation. */
export interface SessionSummary {
  id: string;
  agent: string;
  channel: string;
  title: string;
  updatedAt: string;
}

/** A message as shown in the transcript. */
export interface TranscriptEntry {
  role: "user" | "assistant" | "tool";
  text: string;
  /** For tool entries: the tool's name. */
  tool?: string;
  at?: string;
}

/** A tool call waiting for a human decision, from any channel. */
export interface PendingApproval {
  id: string;
  tool: string;
  tier: 1 | 2 | 3;
  /** Arguments as the model gave them, already redacted. */
  args: unknown;
  sandbox: string;
  agent: string;
  channel: string;
  session: string;
  requestedAt: string;
}

/** The user's answer: once, remember for 30 days (tier 2 only), or no. */
export type ApprovalDecision = "once" | "remember" | "deny";

/** Streamed progress of one turn. */
export type ChatEvent =
  | { type: "session"; sessionId: string }
  | { type: "text"; text: string }
  | { type: "tool_call"; id: string; tool: string; args: unknown }
  | { type: "tool_result"; id: string; ok: boolean; summary: string }
  | { type: "approval"; approval: PendingApproval }
  | { type: "notice"; text: string }
  | { type: "error"; message: string }
  | { type: "done" };

/** A message from the WebChat user. */
export interface ChatInput {
  agent: string;
  /** Absent: start a new conversation. */
  sessionId?: string;
  text: string;
}

/** Read-only status panels. */
export interface StatusView {
  adapters: {
    channel: string;
    pid: number | null;
    state: string;
    uptimeSeconds: number;
    restarts: number;
    lastError: string | null;
  }[];
}

/** One audit event as shown in the panel. */
export interface AuditRow {
  seq: number;
  time: string;
  kind: string;
  actor: string;
  channel?: string;
  session?: string;
  summary: string;
}

/** The audit panel: recent events and whether the chain verifies. */
export interface AuditView {
  events: AuditRow[];
  verified: { ok: boolean; detail: string };
}

/** A remembered approval. */
export interface PermissionRow {
  tool: string;
  agent: string;
  expiresAt: string;
}

/** A credential's metadata (never its value). */
export interface CredentialRow {
  name: string;
  expiresAt: string | null;
  updatedAt: string;
}

/** Everything WebChat asks of the gateway. */
export interface ChatService {
  agents(): AgentInfo[];
  sessions(agent?: string): SessionSummary[];
  transcript(sessionId: string): TranscriptEntry[];
  /** Runs one turn; aborting `signal` (the stop button) cancels it. */
  send(input: ChatInput, signal: AbortSignal): AsyncIterable<ChatEvent>;
  /** Stores an uploaded file in the agent's workspace (confined); returns its workspace path. */
  upload(agent: string, name: string, bytes: Uint8Array): Promise<string>;
  pendingApprovals(): PendingApproval[];
  decide(approvalId: string, decision: ApprovalDecision): Promise<void>;
  /** Calls `listener` whenever the pending list changes; returns the unsubscribe function. */
  onApprovalsChanged(listener: () => void): () => void;
  status(): StatusView;
  audit(limit: number): Promise<AuditView>;
  permissions(): PermissionRow[];
  revokePermission(tool: string, agent: string): Promise<void>;
  credentials(): CredentialRow[];
}
