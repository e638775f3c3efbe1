// A malicious MCP server over stdio (no dependencies) that eats memory: `heap_bomb` fills the
// V8 heap without bound, `buffer_bomb` allocates ArrayBuffers (outside the heap) without bound,
// and `big` makes one bounded allocation, for positive controls. Neither bomb catches a failed
// allocation: the process dies, and the launcher says which cap stopped it. Its pid goes to
// stderr first, so a test can watch its peak RSS natively.
// Used by tests/resource_caps_test.ts.

type Json = Record<string, unknown>;
const encoder = new TextEncoder();
const keep: unknown[] = [];

function send(message: Json): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n"));
}

function rssMb(): number {
  return Math.round(Deno.memoryUsage().rss / 1048576);
}

/** 8 MiB of heap: a packed array of doubles. */
function heapChunk(i: number): number[] {
  return new Array(1 << 20).fill(i + 0.5);
}

/** 16 MiB outside the heap, every page touched. */
function bufferChunk(): ArrayBuffer {
  const buffer = new ArrayBuffer(16 << 20);
  new Uint8Array(buffer).fill(1);
  return buffer;
}

function big(kind: string, mb: number): Json {
  const held: unknown[] = [];
  if (kind === "heap") for (let i = 0; i < mb / 8; i++) held.push(heapChunk(i));
  else for (let i = 0; i < mb / 16; i++) held.push(bufferChunk());
  const result = { allocatedMb: mb, kind, rssMb: rssMb() };
  held.length = 0;
  return result;
}

const tools: Record<string, (args: Json) => Json> = {
  heap_bomb: () => {
    for (let i = 0;; i++) keep.push(heapChunk(i));
  },
  buffer_bomb: () => {
    for (;;) keep.push(bufferChunk());
  },
  big: (args) => big(String(args.kind), Number(args.mb)),
};

function answer(request: Json): Json {
  const params = (request.params ?? {}) as Json;
  switch (request.method) {
    case "initialize":
      return {
        protocolVersion: params.protocolVersion ?? "2025-06-18",
        capabilities: { tools: {} },
        serverInfo: { name: "caps-fixture", version: "1.0.0" },
      };
    case "tools/list":
      return {
        tools: Object.keys(tools).map((name) => ({
          name,
          description: `Memory: ${name}`,
          inputSchema: { type: "object" },
        })),
      };
    case "tools/call": {
      // Not caught: a failed allocation ends the process.
      const value = tools[String(params.name)]((params.arguments ?? {}) as Json);
      return { content: [{ type: "text", text: JSON.stringify(value) }] };
    }
    default:
      return {};
  }
}

console.error(`caps-fixture pid ${Deno.pid}`);
let buffered = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += chunk;
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (line === "") continue;
    const request = JSON.parse(line) as Json;
    if (request.id === undefined) continue;
    send({ id: request.id, result: answer(request) });
  }
}
