/**
 * Errors of the IPC room. A `FrameError` closes the one connection that sent the frame; it is
 * never allowed to reach the gateway's top level.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";

/** A received frame is malformed, too large, too deep or of an unknown kind. */
export class FrameError extends WirkenError {
  /** `reason` is logged as the reason the connection was closed. */
  constructor(reason: string, cause?: unknown) {
    super(`invalid IPC frame: ${reason}`, {
      fix: "The peer is not a wirken adapter of this version (or is hostile); it was disconnected.",
      cause,
    });
  }
}

/** The handshake failed (bad signature, wrong channel, deadline, rate limit). */
export class HandshakeError extends WirkenError {
  /** `reason` is sent to the peer, logged and audited; it never contains key material. */
  constructor(readonly reason: string) {
    super(`IPC handshake failed: ${reason}`, {
      fix: "Re-register the adapter key with `wirken channel add <channel>`, then restart wirken.",
    });
  }
}

/** The IPC connection or socket could not be used. */
export class IpcError extends WirkenError {}
