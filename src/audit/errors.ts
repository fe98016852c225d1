/**
 * Errors of the audit log.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";

/** The audit log cannot record or prove something; tools must not run when `append` throws it. */
export class AuditError extends WirkenError {}
