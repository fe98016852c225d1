/**
 * The guard room's public surface: secret scanning on every way out, egress allow-lists and
 * untrusted-content tracking. The gateway's composition root builds one `SecretScanner` from
 * the vault, installs it on the log path (`setLogTextRedactor` in `src/log/redact.ts`) and
 * puts the wrappers below around providers, tools, replies and SIEM events.
 *
 * @module
 */
export {
  applyRedactions,
  type HitEncoding,
  KEY_SHAPE_NAMES,
  type NamedSecret,
  type RedactResult,
  type ScannerOptions,
  type SecretHit,
  SecretScanner,
} from "./scan.ts";
export {
  checkEgressHost,
  checkEgressUrl,
  type EgressCheckOptions,
  EgressConfigError,
  type EgressConfigView,
  EgressPolicy,
  egressPolicyFor,
  type EgressProxy,
  type EgressProxyOptions,
  type EgressRefusal,
  EgressRefusedError,
  type EgressTarget,
  guardedFetch,
  type GuardedFetchOptions,
  type Resolver,
  resolveWithDeno,
  startEgressProxy,
} from "./egress.ts";
export { execNetwork, type SandboxEgressLease, startSandboxEgress } from "./sandbox_egress.ts";
export {
  detectInjection,
  type InjectionFinding,
  rememberedApprovalApplies,
  type RememberedDecision,
  sourceKindOfTool,
  type TaintContext,
  type UntrustedKind,
  untrustedNote,
  type UntrustedSource,
  UntrustedTracker,
  type UntrustedTrackerOptions,
} from "./untrusted.ts";
export {
  createStreamGuard,
  type EgressKind,
  egressRefusalAuditor,
  type GuardedText,
  guardEgressJson,
  guardEgressText,
  guardProvider,
  guardTool,
  guardToolArgs,
  type GuardToolOptions,
  type GuardWhere,
  LeakBlockedError,
  type LeakGuard,
  type StreamGuard,
  type ToolArgsVerdict,
} from "./hooks.ts";
