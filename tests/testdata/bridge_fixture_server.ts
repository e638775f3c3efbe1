// A stdio MCP server for the HTTP bridge tests. Some tools misbehave on purpose (crash, hang),
// one reports everything the process can observe about its caller (observe), so tests can prove
// that nothing from the HTTP layer reaches it.
import { Server } from "npm:@modelcontextprotocol/sdk@1.32.2/server/index.js";
import { StdioServerTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/server/stdio.js";
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";

const received: string[] = [];
const cancelled: unknown[] = [];
const subscribed = new Set<string>();
let counter = 0;

const server = new Server({ name: "bridge-fixture", version: "1.0.0" }, {
  capabilities: { tools: { listChanged: true }, resources: { subscribe: true }, logging: {} },
});

const text = (value: unknown) => ({
  content: [{ type: "text", text: typeof value === "string" ? value : JSON.stringify(value) }],
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: [
    "echo", "pid", "count", "crash", "hang", "slow", "sample", "roots", "notify", "progress",
    "observe", "cancelled", "log", "big",
  ].map((name) => ({ name, inputSchema: { type: "object" } })),
}));

server.setRequestHandler(SubscribeRequestSchema, (request: any) => {
  subscribed.add(request.params.uri);
  return {};
});
server.setRequestHandler(UnsubscribeRequestSchema, (request: any) => {
  subscribed.delete(request.params.uri);
  return {};
});

server.setRequestHandler(CallToolRequestSchema, async (request: any, extra: any) => {
  const args = request.params.arguments ?? {};
  switch (request.params.name) {
    case "echo":
      return text(String(args.text));
    case "pid":
      return text(String(Deno.pid));
    case "count":
      return text(String(++counter));
    case "crash":
      setTimeout(() => Deno.exit(3), 10);
      return await new Promise(() => {});
    case "hang":
      return await new Promise(() => {});
    case "slow": {
      const ms = Number(args.ms ?? 1000);
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        extra.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new Error("aborted"));
        });
      });
      return text(`slept ${ms}`);
    }
    case "sample": {
      try {
        const result: any = await extra.sendRequest({
          method: "sampling/createMessage",
          params: {
            messages: [{ role: "user", content: { type: "text", text: String(args.prompt) } }],
            maxTokens: 10,
          },
        }, CreateMessageResultSchema);
        return text(`sampled: ${result.content.text}`);
      } catch (error) {
        return text(`sampling failed: ${(error as Error).message}`);
      }
    }
    case "roots": {
      try {
        const result: any = await extra.sendRequest({ method: "roots/list" }, ListRootsResultSchema);
        return text(result.roots);
      } catch (error) {
        return text(`roots failed: ${(error as Error).message}`);
      }
    }
    case "notify":
      await server.sendToolListChanged();
      for (const uri of subscribed) await server.sendResourceUpdated({ uri });
      return text("notified");
    case "log":
      await extra.sendNotification({
        method: "notifications/message",
        params: { level: "info", data: String(args.data ?? "log line") },
      });
      return text("logged");
    case "progress": {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= 3; i++) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress: i, total: 3 },
          });
        }
        await sleep(Number(args.stepMs ?? 10));
      }
      return text(`progress token ${JSON.stringify(token)}`);
    }
    case "observe": {
      let env: Record<string, string> | string;
      try {
        env = Deno.env.toObject();
      } catch (error) {
        env = `env denied: ${(error as Error).message}`;
      }
      return text({ received, env, args: Deno.args });
    }
    case "cancelled":
      return text(cancelled);
    case "big":
      return text("x".repeat(Number(args.size ?? 1000)));
    default:
      throw new Error(`unknown tool ${request.params.name}`);
  }
});

const transport = new StdioServerTransport();
await server.connect(transport);
// Record every message as it arrived, after the SDK has parsed it.
const handle = transport.onmessage!;
transport.onmessage = (message: any, extra?: any) => {
  received.push(JSON.stringify(message));
  if (received.length > 200) received.shift(); // bounded: the benchmark calls it a lot
  if (message.method === "notifications/cancelled") cancelled.push(message.params.requestId);
  handle(message, extra);
};
