/**
 * `wirken run`: start the gateway in the foreground until Ctrl+C or SIGTERM.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { CommandSpec } from "./spec.ts";

/** Parses a port from a flag or env value; `0` means "any free port". */
export function parsePort(value: string, source: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new UsageError(`${source} must be a port number from 0 to 65535, got "${value}"`);
  }
  return n;
}

/** The `run` command. */
export const runCommand: CommandSpec = {
  name: "run",
  summary: "Start the gateway: adapters, agent, and WebChat on http://localhost:18790.",
  examples: [
    "wirken run",
    "wirken run --port 18800",
    "wirken run --provider ollama --model llama3.2",
    "WIRKEN_DATA_DIR=/srv/wirken wirken run",
  ],
  options: {
    port: {
      type: "string",
      description: "WebChat port on 127.0.0.1 (default: config, then 18790; env WIRKEN_PORT).",
      valueName: "<port>",
    },
    provider: {
      type: "string",
      description: "Provider for this run only, config unchanged (env WIRKEN_PROVIDER).",
      valueName: "<name>",
    },
    model: {
      type: "string",
      description: "Model for this run only (env WIRKEN_MODEL).",
      valueName: "<id>",
    },
    "base-url": {
      type: "string",
      description: "Endpoint for this run only (env WIRKEN_BASE_URL).",
      valueName: "<url>",
    },
  },
  async run(ctx) {
    const flag = ctx.flags.port;
    const envPort = ctx.env.get("WIRKEN_PORT");
    const port = typeof flag === "string"
      ? parsePort(flag, "--port")
      : envPort
      ? parsePort(envPort, "WIRKEN_PORT")
      : undefined;
    const [{ startGateway }, { banner }, { print }, { VERSION }] = await Promise.all([
      import("../gateway/gateway.ts"),
      import("../gateway/banner.ts"),
      import("./output.ts"),
      import("./main.ts"),
    ]);
    const { overrideFrom } = await import("../router/override.ts");
    const gateway = await startGateway({
      dataDir: ctx.dataDir,
      port,
      verbose: ctx.verbose,
      version: VERSION,
      override: overrideFrom(ctx),
    });
    const p = gateway.policy;
    print(banner({
      config: gateway.config,
      policy: p
        ? `${p.policy.org} (serial ${p.policy.serial}${
          p.source === "cache" ? ", cached copy" : ""
        })`
        : null,
      vault: gateway.vault
        ? { label: gateway.vault.backendLabel }
        : { locked: gateway.locked ?? "" },
      socketPath: gateway.socketPath,
      // The one-time login link: WebChat answers nothing but /healthz without its session.
      webchatUrl: gateway.webchatLoginUrl,
    }));
    await new Promise<void>((resolve) => {
      const stop = () => {
        Deno.removeSignalListener("SIGINT", stop);
        Deno.removeSignalListener("SIGTERM", stop);
        resolve();
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    });
    print("Shutting down...");
    await gateway.close();
    print("Gateway stopped.");
    return 0;
  },
};
