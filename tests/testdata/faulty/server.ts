// A faulty MCP server for the error-report tests: newline-delimited JSON-RPC on stdio, written by
// hand so it needs no dependency. Its first argument picks the fault:
//   exit-at-start  writes "boom" to stderr and exits with code 3 before reading anything
//   crash-in-call  answers initialize and tools/list; the tool "echo" works (the positive
//                  control), the tool "crash" writes "crashing now" to stderr and exits with code 7,
//                  the tool "hang" writes "hanging" to stderr and never answers
//   silent         writes "waiting for nothing" to stderr and never answers
//   old-protocol   answers initialize with protocol version 1999-01-01, which no client accepts
//   no-resources   advertises resources but answers resources/list "Method not found"
const mode = Deno.args[0];
const encoder = new TextEncoder();

if (mode === "exit-at-start") {
  console.error("boom");
  Deno.exit(3);
}
if (mode === "silent") {
  console.error("waiting for nothing");
  setInterval(() => {}, 60_000);
} else {
  await serve();
}

type Message = { id?: number | string; method?: string; params?: Record<string, unknown> };

async function reply(id: number | string, body: Record<string, unknown>): Promise<void> {
  await Deno.stdout.write(encoder.encode(JSON.stringify({ jsonrpc: "2.0", id, ...body }) + "\n"));
}

async function serve(): Promise<void> {
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
}

async function answer(message: Message): Promise<void> {
  if (message.id === undefined || message.method === undefined) return;
  switch (message.method) {
    case "initialize":
      return await reply(message.id, {
        result: {
          protocolVersion: mode === "old-protocol" ? "1999-01-01" : message.params?.protocolVersion,
          capabilities: mode === "no-resources" ? { tools: {}, resources: {} } : { tools: {} },
          serverInfo: { name: "faulty", version: "1.0.0" },
        },
      });
    case "tools/list":
      return await reply(message.id, {
        result: {
          tools: ["echo", "crash", "hang"].map((name) => ({ name, inputSchema: { type: "object" } })),
        },
      });
    case "tools/call": {
      const params = message.params as { name: string; arguments?: { text?: string } };
      if (params.name === "crash") {
        console.error("crashing now");
        Deno.exit(7);
      }
      if (params.name === "hang") {
        console.error("hanging");
        return;
      }
      return await reply(message.id, {
        result: { content: [{ type: "text", text: String(params.arguments?.text ?? "") }] },
      });
    }
    default:
      return await reply(message.id, { error: { code: -32601, message: "Method not found" } });
  }
}
