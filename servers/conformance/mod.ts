/**
 * A first-party MCP server implementing the fixtures of the official MCP conformance suite
 * (`npm:@modelcontextprotocol/conformance@0.1.16`), served over stdio (default) or natively over
 * Streamable HTTP.
 *
 * ```sh
 * deno run servers/conformance/mod.ts                      # stdio, no permissions needed
 * deno run --allow-net=127.0.0.1 servers/conformance/mod.ts --http --port 3000
 * ```
 *
 * HTTP mode needs `--allow-net` for the listening address.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createConformanceServer } from "./server.ts";
import { createConformanceHandler } from "./http.ts";

export { createConformanceServer, type CreateConformanceServerOptions } from "./server.ts";
export {
  type ConformanceHandler,
  createConformanceHandler,
  type CreateConformanceHandlerOptions,
} from "./http.ts";

const USAGE = `Usage: mod.ts [--http] [--host 127.0.0.1] [--port 3000] [--path /mcp]

Serves the MCP conformance fixtures over stdio, or over Streamable HTTP with --http.`;

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      http: { type: "boolean", default: false },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "3000" },
      path: { type: "string", default: "/mcp" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.http) {
    await createConformanceServer().connect(new StdioServerTransport());
    return;
  }
  let allowedHosts: string[] = [];
  const { handler } = createConformanceHandler({
    get allowedHosts() {
      return allowedHosts;
    },
    path: values.path,
  });
  const server = Deno.serve({
    hostname: values.host,
    port: Number(values.port),
    onListen: ({ port }) => {
      allowedHosts = ["localhost", "127.0.0.1", "[::1]", values.host].map((h) => `${h}:${port}`);
      console.error(
        `MCP conformance server on http://${values.host}:${port}${values.path}`,
      );
    },
  }, handler);
  await server.finished;
}

if (import.meta.main) {
  await main(Deno.args);
}
