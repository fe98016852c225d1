/**
 * Errors of the skills room. Every one says where (file, line, field) so a user can fix a
 * SKILL.md without guessing, and carries a `fix` like every {@linkcode WirkenError}.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";

/** Where in a file a problem is. */
export interface SkillErrorLocation {
  /** The file (SKILL.md, a bundle, an index) the problem is in. */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** Dotted field path, e.g. `metadata.openclaw.requires.bins`. */
  field?: string;
}

/** A SKILL.md that cannot be parsed or does not match the format. */
export class SkillParseError extends WirkenError {
  /** Where the problem is. */
  readonly location: SkillErrorLocation;
  /** The problem alone, without the location prefix. */
  readonly reason: string;

  /** Builds the error; the message starts with `file:line:` so editors can jump to it. */
  constructor(location: SkillErrorLocation, reason: string, fix?: string) {
    const where = `${location.file}${location.line ? `:${location.line}` : ""}${
      location.line && location.column ? `:${location.column}` : ""
    }`;
    super(`${where}: ${location.field ? `${location.field}: ` : ""}${reason}`, {
      fix: fix ?? "Edit the SKILL.md at the place shown (see docs/skills.md for the format).",
    });
    this.location = location;
    this.reason = reason;
  }
}

/** A signature, manifest or path problem: the skill is refused. */
export class SkillSignatureError extends WirkenError {}

/** A registry that cannot be reached or answers something that is not a registry. */
export class SkillRegistryError extends WirkenError {}
