/**
 * A JSON-RPC server in one file, spawned as a supervised process, for the stdio tests.
 *
 * It answers "echo" with its params and "big" with a 20 000-character result; "junk" makes it
 * write a line that is not JSON (then one without `jsonrpc`, then a blank line); "exit" writes
 * "last words" to stderr and exits with code 4; any other method ("slow") is never answered. It
 * exits when its stdin ends. With `hello`, it first says "hello" as a notification.
 */
import { type ServerProcess, spawnServer, type SpawnServerOptions } from "./server_process.ts";

const SERVER = `
const out = (m) => console.log(typeof m === "string" ? m : JSON.stringify(m));
if (Deno.args.includes("--hello")) out({ jsonrpc: "2.0", method: "hello" });
let buffer = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf("\\n")) >= 0) {
    const m = JSON.parse(buffer.slice(0, nl));
    buffer = buffer.slice(nl + 1);
    if (m.method === "echo") out({ jsonrpc: "2.0", id: m.id, result: m.params ?? null });
    if (m.method === "big") out({ jsonrpc: "2.0", id: m.id, result: "x".repeat(20000) });
    if (m.method === "junk") { out("not json"); out({ id: 1, result: "no version" }); out(""); }
    if (m.method === "exit") { console.error("last words"); Deno.exit(4); }
  }
}
`;

/** Options for {@linkcode spawnFixture}. */
export interface SpawnFixtureOptions extends SpawnServerOptions {
  /** Whether the server first sends a "hello" notification. */
  hello?: boolean;
}

/**
 * Starts the fixture server, named "fixture", with its stderr ignored unless `onStderr` is given.
 *
 * @param options Whether it says hello, and the supervision options.
 * @returns The running server.
 */
export function spawnFixture(options: SpawnFixtureOptions = {}): ServerProcess {
  const { hello, ...spawn } = options;
  return spawnServer("fixture", {
    program: Deno.execPath(),
    args: ["eval", SERVER, ...(hello ? ["--hello"] : [])],
    env: { NO_COLOR: "1" },
    cwd: Deno.cwd(),
  }, { onStderr: () => {}, ...spawn });
}
