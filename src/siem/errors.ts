/**
 * Errors of SIEM forwarding.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";

/** A SIEM destination is misconfigured or cannot be used. */
export class SiemError extends WirkenError {}
