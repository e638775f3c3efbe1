// A server that probes several variables but starts only with one of them set: learn's
// environment rule must draft that one and leave the probed ones out.
import { Server } from "npm:@modelcontextprotocol/sdk@1.32.2/server/index.js";
import { StdioServerTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/server/stdio.js";
import { ListToolsRequestSchema } from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";

const optional = ["NEEDS_ENV_LOG_LEVEL", "NEEDS_ENV_BASE_URL", "NEEDS_ENV_REGION"];
for (const name of optional) Deno.env.get(name);
if (!Deno.env.get("NEEDS_ENV_API_KEY")) {
  console.error("NEEDS_ENV_API_KEY is not set");
  Deno.exit(1);
}
for (const name of optional) Deno.env.get(name);
const server = new Server({ name: "needs-env", version: "1.0.0" }, {
  capabilities: { tools: {} },
});
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: [{ name: "ping", description: "Answers", inputSchema: { type: "object" } }],
}));
await server.connect(new StdioServerTransport());
