// An MCP server over stdio (no dependencies) for the audit log tests. Its tools:
//   echo   answers "echo: <text>" (only the text argument: nothing else it was given)
//   huge   answers a 3 MB text, and a structured result with a 100 000-item list
//   flood  sends a tools/list_changed and 20 000 notifications/message, then answers "flooded"
//   hang   never answers
//   env    answers the OTLP endpoint variable as the server sees it ("unset" when it cannot)
//   fail   answers a JSON-RPC error (-32602 "bad arguments", then its text argument if any)
//   oops   answers a tool error (isError) "oops: <text>"
//   lookup answers its target and ref arguments back, as text and as an embedded resource's uri
//   wipe   answers "wiped" (the tests exclude it: a call that reaches it shows the filter failed)
// It also lists and answers the prompt "greet" and the resource file:///fixture/r, so that every
// kind of target is recorded.
const encoder = new TextEncoder();

type Message = { id?: number | string; method?: string; params?: Record<string, unknown> };

async function send(message: Record<string, unknown>): Promise<void> {
  await Deno.stdout.write(encoder.encode(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n"));
}

function text(value: string): Record<string, unknown> {
  return { content: [{ type: "text", text: value }] };
}

async function call(id: number | string, params: Record<string, unknown>): Promise<void> {
  const args = (params.arguments ?? {}) as Record<string, unknown>;
  switch (params.name) {
    case "echo":
      return await send({ id, result: text(`echo: ${args.text}`) });
    case "huge":
      return await send({
        id,
        result: {
          ...text("x".repeat(3_000_000)),
          structuredContent: { items: Array.from({ length: 100_000 }, (_, i) => i) },
        },
      });
    case "flood":
      // First, while the notification rate limit lets it through.
      await send({ method: "notifications/tools/list_changed" });
      for (let i = 0; i < 20_000; i++) {
        await send({ method: "notifications/message", params: { level: "info", data: `n${i}` } });
      }
      return await send({ id, result: text("flooded") });
    case "hang":
      return;
    case "fail":
      return await send({
        id,
        error: { code: -32602, message: `bad arguments${args.text ? `: ${args.text}` : ""}` },
      });
    case "oops":
      return await send({ id, result: { ...text(`oops: ${args.text}`), isError: true } });
    case "lookup":
      return await send({
        id,
        result: {
          content: [
            { type: "text", text: `looked up ${args.target} with ${args.ref}` },
            { type: "resource", resource: { uri: args.target, text: "row" } },
          ],
        },
      });
    case "wipe":
      return await send({ id, result: text("wiped") });
    case "env": {
      let seen = "unset";
      try {
        seen = Deno.env.get("OTEL_EXPORTER_OTLP_ENDPOINT") ?? "unset";
      } catch { /* not granted */ }
      return await send({ id, result: text(seen) });
    }
    default:
      return await send({ id, error: { code: -32602, message: `Unknown tool ${params.name}` } });
  }
}

async function answer(message: Message): Promise<void> {
  if (message.id === undefined || message.method === undefined) return;
  const id = message.id;
  const params = message.params ?? {};
  switch (message.method) {
    case "initialize":
      return await send({
        id,
        result: {
          protocolVersion: params.protocolVersion,
          capabilities: { tools: {}, prompts: {}, resources: {} },
          serverInfo: { name: "audit-fixture", version: "1.0.0" },
        },
      });
    case "tools/list":
      return await send({
        id,
        result: {
          tools: ["echo", "huge", "flood", "hang", "env", "fail", "wipe", "oops", "lookup"].map((name) => ({
            name,
            inputSchema: { type: "object" },
          })),
        },
      });
    case "tools/call":
      return await call(id, params);
    case "prompts/list":
      return await send({ id, result: { prompts: [{ name: "greet" }] } });
    case "resources/list":
      return await send({ id, result: { resources: [{ uri: "file:///fixture/r", name: "r" }] } });
    case "resources/templates/list":
      return await send({ id, result: { resourceTemplates: [] } });
    case "prompts/get":
      return await send({ id, result: { messages: [] } });
    case "resources/read":
      return await send({ id, result: { contents: [{ uri: params.uri, text: "r" }] } });
    case "ping":
      return await send({ id, result: {} });
    default:
      return await send({ id, error: { code: -32601, message: "Method not found" } });
  }
}

let buffer = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffer += chunk;
  let newline: number;
  while ((newline = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, newline).trim();
    buffer = buffer.slice(newline + 1);
    if (line) await answer(JSON.parse(line));
  }
}
