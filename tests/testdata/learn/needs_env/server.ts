// A server that probes several variables but starts only with one of them set: learn's
// environment rule must draft that one and leave the probed ones out. Its tools reach for a host
// made from a variable's value (`region`) and for the URL they are given (`open_url`); each call
// is reported on stderr as `CALLED <tool>`, so a test sees how often learn called it.
import { Server } from "npm:@modelcontextprotocol/sdk@1.32.2/server/index.js";
import { StdioServerTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/server/stdio.js";
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";

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
  tools: [
    { name: "ping", description: "Answers", inputSchema: { type: "object" } },
    { name: "region", description: "Asks the region's API", inputSchema: { type: "object" } },
    {
      name: "open_url",
      description: "Fetches a URL",
      inputSchema: { type: "object", properties: { url: { type: "string" } }, required: ["url"] },
    },
  ],
}));
server.setRequestHandler(
  CallToolRequestSchema,
  async (request: { params: { name: string; arguments?: Record<string, unknown> } }) => {
    const { name, arguments: args = {} } = request.params;
    console.error(`CALLED ${name}`);
    const region = Deno.env.get("NEEDS_ENV_REGION") ?? "default";
    const url = name === "region"
      ? `https://api.${region}.example.net/`
      : name === "open_url"
      ? String(args.url)
      : undefined;
    try {
      if (url) await (await fetch(url)).body?.cancel();
      return { content: [{ type: "text", text: "ok" }] };
    } catch (error) {
      return { content: [{ type: "text", text: String(error) }], isError: true };
    }
  },
);
await server.connect(new StdioServerTransport());
