// A minimal MCP server over stdio (no dependencies) that will not stop: it ignores SIGTERM,
// SIGINT, SIGHUP and the end of its stdin, and writes a growing count to a heartbeat file of its
// own (`beat-<random>` in the folder given as its first argument) every 100 ms. Used by
// tests/security_process_test.ts and tests/docker_test.ts; never run outside tests.

const dir = Deno.args[0];
const file = `${dir}/beat-${crypto.randomUUID()}`;
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.addSignalListener(signal, () => {});
}
let beats = 0;
setInterval(() => Deno.writeTextFileSync(file, String(++beats)), 100);

type Json = Record<string, unknown>;
function handle(message: Json): Json | undefined {
  const { id, method } = message;
  if (id === undefined) return undefined;
  const params = (message.params ?? {}) as Json;
  const reply = (result: Json) => ({ jsonrpc: "2.0", id, result });
  if (method === "initialize") {
    return reply({
      protocolVersion: params.protocolVersion ?? "2025-06-18",
      capabilities: { tools: {} },
      serverInfo: { name: "stubborn", version: "1.0.0" },
    });
  }
  if (method === "ping") return reply({});
  if (method === "tools/list") return reply({ tools: [] });
  return { jsonrpc: "2.0", id, error: { code: -32601, message: `no method ${method}` } };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let buffer = "";
for await (const chunk of Deno.stdin.readable) {
  buffer += decoder.decode(chunk, { stream: true });
  let nl: number;
  while ((nl = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, nl).trim();
    buffer = buffer.slice(nl + 1);
    if (!line) continue;
    const response = handle(JSON.parse(line));
    if (response) await Deno.stdout.write(encoder.encode(JSON.stringify(response) + "\n"));
  }
}
// The end of stdin: ignored; the heartbeat keeps the process alive.
