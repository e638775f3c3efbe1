/**
 * The forwarder that runs inside an egress sidecar: it listens on `127.0.0.1:<port>` in the
 * network namespace the server shares, and pipes each TCP connection to the egress proxy's Unix
 * socket, untouched (the proxy decides; the forwarder only carries bytes).
 *
 * Its source is a string here, not a file beside this module, because mcp-run may run from JSR
 * with no checkout on disk: the launcher writes it into a folder of the cache root
 * ({@linkcode writeEgressForwarder}) and mounts that folder read-only into the sidecar. Plain
 * JavaScript with no imports, so it runs with no type check and no module fetch.
 *
 * @module
 */

/** The line the forwarder prints on stdout once it listens (see `waitForEgressSidecar`). */
export const EGRESS_READY_LINE = "mcp-run egress forwarder: listening";

/** The forwarder's file name inside the folder it is written to. */
export const EGRESS_FORWARDER_FILE = "egress_forwarder.js";

/**
 * The forwarder's source. Arguments: the proxy's socket path, the port to listen on, and the
 * most connections at once. Needs `--allow-net=127.0.0.1:<port>,unix:<socket>` and read and
 * write access to the socket, nothing else.
 */
export const EGRESS_FORWARDER_SOURCE: string =
  `// mcp-run egress forwarder (generated; do not edit).
// Pipes each TCP connection on 127.0.0.1:PORT to the egress proxy's Unix socket.
const [socketPath, portText, maxText] = Deno.args;
const port = Number(portText);
const max = Number(maxText ?? "256");
let open = 0;
const listener = Deno.listen({ hostname: "127.0.0.1", port });
console.log(${JSON.stringify(EGRESS_READY_LINE)} + " on 127.0.0.1:" + port);
for await (const conn of listener) {
  if (open >= max) {
    close(conn);
    continue;
  }
  open++;
  carry(conn).finally(() => open--);
}

async function carry(conn) {
  let proxy;
  try {
    proxy = await Deno.connect({ transport: "unix", path: socketPath });
  } catch {
    close(conn);
    return;
  }
  // The proxy decides when a connection ends: its end closes both sides. The client's end
  // only ends what it sends, so a response still on its way arrives.
  const sending = conn.readable.pipeTo(proxy.writable).catch(() => {});
  await proxy.readable.pipeTo(conn.writable).catch(() => {});
  close(conn);
  close(proxy);
  await sending;
}

function close(conn) {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
`;

/** Options for {@linkcode egressForwarderArgs}. */
export interface EgressForwarderArgsOptions {
  /** The forwarder file inside the container. */
  script: string;
  /** The proxy's socket inside the container. */
  socketPath: string;
  /** The port to listen on, on 127.0.0.1. */
  port: number;
  /** Most connections at once (default 256). */
  maxConnections?: number;
}

/**
 * Builds the Deno argv (after `deno`) that runs the forwarder with the least it needs: listen on
 * one loopback port, read and write one socket; no config, no prompt, no remote module. Pure.
 *
 * @param options Where the script and socket are, the port, the connection limit.
 * @returns The argv, starting with `run`.
 * @throws {RangeError} When a path is not absolute or holds `,` (Deno's flag separator), white
 *   space or NUL, or the port or limit is out of range (see {@linkcode checkForwarderArgs}).
 *
 * @example
 * ```ts
 * import { egressForwarderArgs } from "./egress_forwarder.ts";
 * const argv = egressForwarderArgs({
 *   script: "/egress/egress_forwarder.js", socketPath: "/egress-socket/proxy.sock", port: 3128,
 * });
 * console.log(argv.includes("--allow-net=127.0.0.1:3128,unix:/egress-socket/proxy.sock")); // true
 * ```
 */
export function egressForwarderArgs(options: EgressForwarderArgsOptions): string[] {
  const { script, socketPath, port, max } = checkForwarderArgs(options);
  return [
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    "--no-remote",
    "--no-npm",
    `--allow-net=127.0.0.1:${port},unix:${socketPath}`,
    `--allow-read=${socketPath}`,
    `--allow-write=${socketPath}`,
    script,
    socketPath,
    String(port),
    String(max),
  ];
}

/**
 * Checks a forwarder's arguments, for the Deno and the Python forwarder alike: both paths
 * absolute and free of `,` (Deno's flag separator), white space and NUL; the port 1–65535; the
 * connection limit (default 256) a positive whole number. Pure.
 *
 * @param options Where the script and socket are, the port, the connection limit.
 * @returns The same, with the limit's default filled in.
 * @throws {RangeError} When a path, the port or the limit cannot be used.
 *
 * @example
 * ```ts
 * import { checkForwarderArgs } from "./egress_forwarder.ts";
 * console.log(checkForwarderArgs({ script: "/f.js", socketPath: "/p.sock", port: 3128 }).max); // 256
 * ```
 */
export function checkForwarderArgs(
  options: EgressForwarderArgsOptions,
): { script: string; socketPath: string; port: number; max: number } {
  const { script, socketPath, port } = options;
  const max = options.maxConnections ?? 256;
  for (const path of [script, socketPath]) {
    if (!path.startsWith("/") || /[,\s\0]/.test(path)) {
      throw new RangeError(
        `Cannot run the forwarder with "${path}": give an absolute path without commas, ` +
          "spaces or NUL",
      );
    }
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot listen on port ${port}: give a port from 1 to 65535`);
  }
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`Cannot allow ${max} connections: give a positive whole number`);
  }
  return { script, socketPath, port, max };
}

/** A forwarder's file: its name in the folder it is written to, and its source. */
export interface ForwarderSource {
  /** The file's name. */
  file: string;
  /** Its text. */
  source: string;
}

/**
 * Writes the forwarder into a folder (created if missing, mode 0755 so the container's user can
 * read it; the file 0644), replacing an older copy only when it differs, atomically.
 * Requires `--allow-read` and `--allow-write` for the folder.
 *
 * @param dir An absolute folder, e.g. in the cache root.
 * @param forwarder Which forwarder (default the Deno one, {@linkcode EGRESS_FORWARDER_SOURCE}).
 * @returns The file's path.
 * @throws {Deno.errors.PermissionDenied} When the folder cannot be written.
 *
 * @example
 * ```ts ignore
 * import { writeEgressForwarder } from "./egress_forwarder.ts";
 * const file = await writeEgressForwarder("/home/me/.cache/mcp-run/egress");
 * ```
 */
export async function writeEgressForwarder(
  dir: string,
  forwarder: ForwarderSource = { file: EGRESS_FORWARDER_FILE, source: EGRESS_FORWARDER_SOURCE },
): Promise<string> {
  const file = `${dir}/${forwarder.file}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  // The folder is the mount's root: the container's user must enter it, whatever the umask.
  await Deno.chmod(dir, 0o755);
  const current = await Deno.readTextFile(file).catch(() => undefined);
  if (current === forwarder.source) return file;
  const temp = `${file}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, forwarder.source, { mode: 0o644 });
  await Deno.chmod(temp, 0o644);
  await Deno.rename(temp, file);
  return file;
}
