/**
 * Structured logging: JSON lines to `<data dir>/logs/wirken.log` (0600) and short human lines
 * to the terminal (stderr). Every record passes through {@linkcode redact} first.
 *
 * @module
 */
import { FILE_MODE } from "../config/paths.ts";
import { redact, redactString } from "./redact.ts";

/** Severity, lowest first. */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured fields attached to a record. */
export type Fields = Record<string, unknown>;

/** Where the terminal lines go; defaults to stderr. */
export interface TextSink {
  writeSync(bytes: Uint8Array): number;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** JSON-lines file; omitted: terminal only. */
  file?: string;
  /** Show debug records. */
  verbose?: boolean;
  /** Terminal sink (tests pass their own). */
  terminal?: TextSink | null;
  /** Component name recorded with every line. */
  component?: string;
}

/** A logger. `child` adds a component name. */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(component: string): Logger;
  close(): void;
}

const encoder = new TextEncoder();

/** Creates a logger writing to the terminal and, when `file` is set, to a JSON-lines file. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = options.verbose ? ORDER.debug : ORDER.info;
  const terminal = options.terminal === undefined ? Deno.stderr : options.terminal;
  let file: Deno.FsFile | null = null;
  if (options.file) {
    file = Deno.openSync(options.file, { append: true, create: true, mode: FILE_MODE });
    Deno.chmodSync(options.file, FILE_MODE);
  }
  const color = terminal === Deno.stderr && Deno.stderr.isTerminal() && !Deno.noColor;

  function write(level: Level, component: string | undefined, msg: string, fields?: Fields): void {
    if (ORDER[level] < min) return;
    const safe = (fields ? redact(fields) : {}) as Fields;
    const line = redactString(msg);
    const record = { ts: new Date().toISOString(), level, component, msg: line, ...safe };
    if (file) file.writeSync(encoder.encode(JSON.stringify(record) + "\n"));
    if (terminal) terminal.writeSync(encoder.encode(humanLine(record, color)));
  }

  function make(component: string | undefined): Logger {
    return {
      debug: (m, f) => write("debug", component, m, f),
      info: (m, f) => write("info", component, m, f),
      warn: (m, f) => write("warn", component, m, f),
      error: (m, f) => write("error", component, m, f),
      child: (c) => make(component ? `${component}.${c}` : c),
      close: () => {
        file?.close();
        file = null;
      },
    };
  }
  return make(options.component);
}

function humanLine(
  record: { ts: string; level: Level; component?: string; msg: string } & Fields,
  color: boolean,
): string {
  const { ts, level, component, msg, ...rest } = record;
  const extras = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const tag = level.toUpperCase().padEnd(5);
  const paint = color
    ? { debug: "\x1b[90m", info: "\x1b[36m", warn: "\x1b[33m", error: "\x1b[31m" }[level]
    : "";
  const reset = color ? "\x1b[0m" : "";
  const where = component ? `[${component}] ` : "";
  return `${ts.slice(11, 19)} ${paint}${tag}${reset} ${where}${msg}${extras ? " " + extras : ""}\n`;
}
