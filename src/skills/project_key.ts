/**
 * The wirken project's skill-signing public key. Bundled skills in `skills/` are signed with
 * its private half at build time (`deno task sign-skills`, which reads the seed from
 * `WIRKEN_PROJECT_SKILL_KEY`); the private half is never in the repository.
 *
 * @module
 */

/** base64 raw Ed25519 public key of the project. */
export const PROJECT_PUBLIC_KEY = "4BbZiFU+wGe01U/fXVsF7myBZcMkE3uus6TW1kAj9Xo=";
