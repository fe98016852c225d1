/**
 * `ProviderError`: the one error type providers raise. Its message is short and written for the
 * user; it never contains the API key or the provider's raw response body.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";
import type { ProviderErrorKind } from "./types.ts";

/** An error talking to an LLM provider. */
export class ProviderError extends WirkenError {
  /** The category, for callers that react differently (retry, ask for a key, ...). */
  readonly kind: ProviderErrorKind;
  /** HTTP status when the provider answered with one. */
  readonly status: number | undefined;

  /** Builds the error; `message` and `fix` are shown to the user as they are. */
  constructor(
    kind: ProviderErrorKind,
    message: string,
    options: { fix?: string; status?: number; cause?: unknown } = {},
  ) {
    super(message, { fix: options.fix, cause: options.cause });
    this.kind = kind;
    this.status = options.status;
  }
}

/** True when `e` is a {@linkcode ProviderError}. */
export function isProviderError(e: unknown): e is ProviderError {
  return e instanceof ProviderError;
}
