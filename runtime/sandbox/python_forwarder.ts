/**
 * The egress forwarder for containers that hold Python and no Deno (a `pypi:` server's under
 * gVisor): the same job and ready protocol as the Deno one (`egress_forwarder.ts`). It listens
 * on `127.0.0.1:<port>` inside the server's own container and pipes each TCP connection to the
 * egress proxy's Unix socket, untouched; it prints {@linkcode EGRESS_READY_LINE} on stdout once
 * it listens, then nothing more. Standard library only (asyncio), run with `python3 -I`.
 *
 * @module
 */
import {
  checkForwarderArgs,
  EGRESS_READY_LINE,
  type EgressForwarderArgsOptions,
} from "./egress_forwarder.ts";

/** The Python forwarder's file name inside the folder it is written to. */
export const PYTHON_FORWARDER_FILE = "egress_forwarder.py";

/**
 * The Python forwarder's source. Arguments: the proxy's socket path, the port to listen on, the
 * most connections at once (default 256).
 */
export const PYTHON_FORWARDER_SOURCE: string = `# mcp-run egress forwarder (generated; do not edit).
# Pipes each TCP connection on 127.0.0.1:PORT to the egress proxy's Unix socket.
import asyncio
import sys

SOCKET = sys.argv[1]
PORT = int(sys.argv[2])
MAX = int(sys.argv[3]) if len(sys.argv) > 3 else 256
state = {"open": 0}


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except Exception:
        pass
    # The client's end only ends what it sends, so a response still on its way arrives.
    try:
        if writer.can_write_eof():
            writer.write_eof()
    except Exception:
        pass


async def carry(client_reader, client_writer):
    if state["open"] >= MAX:
        client_writer.close()
        return
    state["open"] += 1
    proxy_writer = None
    try:
        try:
            proxy_reader, proxy_writer = await asyncio.open_unix_connection(SOCKET)
        except OSError:
            return
        sending = asyncio.ensure_future(pipe(client_reader, proxy_writer))
        # The proxy decides when a connection ends: its end closes both sides.
        await pipe(proxy_reader, client_writer)
        sending.cancel()
    finally:
        state["open"] -= 1
        for writer in (client_writer, proxy_writer):
            if writer is not None:
                try:
                    writer.close()
                except Exception:
                    pass


async def main():
    server = await asyncio.start_server(carry, "127.0.0.1", PORT)
    sys.stdout.write(${JSON.stringify(EGRESS_READY_LINE)} + " on 127.0.0.1:%d\\n" % PORT)
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


asyncio.run(main())
`;

/** Options for {@linkcode pythonForwarderArgs}: the Deno forwarder's. */
export type PythonForwarderArgsOptions = EgressForwarderArgsOptions;

/**
 * Builds the argv that runs the Python forwarder: `python3 -I` (no `PYTHON*` variable, user
 * site or working folder reaches the interpreter) with the script and its arguments. Pure.
 *
 * @param options Where the script and socket are, the port, the connection limit.
 * @returns The argv, starting with `python3`.
 * @throws {RangeError} When a path is not absolute or holds `,`, white space or NUL, or the
 *   port or limit is out of range (see `checkForwarderArgs`).
 *
 * @example
 * ```ts
 * import { pythonForwarderArgs } from "./python_forwarder.ts";
 * const argv = pythonForwarderArgs({
 *   script: "/mcp-run-egress/egress_forwarder.py", socketPath: "/mcp-run-egress/proxy.sock",
 *   port: 3128,
 * });
 * console.log(argv.slice(0, 2)); // [ "python3", "-I" ]
 * ```
 */
export function pythonForwarderArgs(options: PythonForwarderArgsOptions): string[] {
  const { script, socketPath, port, max } = checkForwarderArgs(options);
  return ["python3", "-I", script, socketPath, String(port), String(max)];
}
