/**
 * The egress proxy: the only way out for a container that has no network of its own. It listens
 * on a Unix socket (mounted into the container's sidecar, see `egress_sidecar.ts`), speaks
 * HTTP/1.1 `CONNECT` (HTTPS and any TCP) and plain `http://` forward requests, and lets through
 * exactly the host:port grants of the server's manifest, resolving names itself and refusing
 * loopback, private and link-local addresses after resolution, as `--deny-net` does natively.
 *
 * What is checked is what is reached: a name is resolved once, every address it resolved to is
 * checked, and the connection goes to a checked address literal (never resolved again). A plain
 * request is checked by its URL's authority; a `Host` header naming another host is refused;
 * each proxy connection carries one plain request (`Connection: close`), so a redirect or a
 * second request is a new connection, checked again.
 *
 * Not checked: what flows inside an allowed `CONNECT` tunnel (a TLS client may send another name
 * in its SNI to a granted address: the bytes still reach only that address and port).
 *
 * @module
 */
import { readHead, type RequestHead } from "./_egress_http.ts";
import { headerValues, originHead, plainResponse } from "./_egress_http.ts";
import {
  addressRefusal,
  type EgressPolicy,
  egressPolicy,
  type EgressTarget,
  grantFor,
  parseTarget,
} from "./_egress_policy.ts";
import { parseIpv4, parseIpv6 } from "../policy/net_policy.ts";
import { EgressSession, pump, writeAll } from "./_egress_session.ts";

/** A connection the proxy refused, as logged. */
export interface EgressRefusal {
  /** The host the client asked for (as checked, or as written when it could not be parsed). */
  host: string;
  /** The port it asked for (0 when none could be read). */
  port: number;
  /** The address a name resolved to, when that address is what was refused. */
  address?: string;
  /** Why, in one line. */
  reason: string;
  /** When, as an ISO 8601 time. */
  at: string;
}

/** Options for {@linkcode startEgressProxy}. */
export interface EgressProxyOptions {
  /** Unix socket to listen on (absolute, at most 107 bytes; made connectable by any user). */
  socketPath: string;
  /** Grants as `ResolvedServer.net` holds them: host, host:port, `*.domain`, IPv4, CIDR, `[v6]`. */
  allow: string[];
  /** `ResolvedServer.denyNet`: addresses refused after resolution unless granted explicitly. */
  deny: string[];
  /** Resolves a name to addresses (default: the system resolver, so `/etc/hosts` counts). */
  lookup?: (host: string) => Promise<string[]>;
  /**
   * Called with each refusal (default: one line to stderr, for the first 100; a server that
   * floods refusals gets one more line saying they are no longer shown).
   */
  onRefusal?: (refusal: EgressRefusal) => void;
  /** Most client connections at once (default 64); more are answered 503. */
  maxConnections?: number;
  /** Largest request head in bytes (default 16384); a larger one is answered 431. */
  maxHeaderBytes?: number;
  /** Longest wait for a request head, in milliseconds (default 10000). */
  headerTimeoutMs?: number;
  /** Longest wait to resolve and connect, in milliseconds (default 10000). */
  connectTimeoutMs?: number;
  /** A connection with no byte either way for this long is closed (default 300000 ms). */
  idleTimeoutMs?: number;
  /** How many refusals {@linkcode EgressProxy.refusals} keeps, the latest (default 100). */
  maxRefusals?: number;
}

/** A running egress proxy. */
export interface EgressProxy {
  /** The Unix socket it listens on. */
  readonly socketPath: string;
  /** The latest refusals, oldest first. */
  readonly refusals: readonly EgressRefusal[];
  /** Stops listening, ends every connection, removes the socket. */
  close(): Promise<void>;
}

type Settings = Required<Omit<EgressProxyOptions, "allow" | "deny">>;

/**
 * Starts an egress proxy on a Unix socket. A stale socket left at the path by a proxy that
 * died is replaced; a live one, or any other file, is not. The socket is made connectable by
 * every user (mode 0666) because the forwarder runs as the container's non-root user: keep it
 * in a folder only the launcher can enter (mode 0700) and bind-mount the socket file itself.
 *
 * Requires `--allow-read`, `--allow-write` and `--allow-net=unix:<path>` for the socket,
 * `--allow-net` for the targets (and `--allow-sys` for the system resolver).
 *
 * @param options Socket, grants, deny list, resolver, limits.
 * @returns The running proxy.
 * @throws {TypeError} When a grant is malformed or the path is not absolute.
 * @throws {RangeError} When the path is too long for a Unix socket.
 * @throws {Deno.errors.AlreadyExists} When a live socket or another file is at the path.
 *
 * @example
 * ```ts ignore
 * import { startEgressProxy } from "./egress_proxy.ts";
 * const proxy = await startEgressProxy({
 *   socketPath: "/run/user/1000/mcp-run/egress-fetch.sock",
 *   allow: ["api.github.com:443"],
 *   deny: ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "[::1]"],
 * });
 * // … run the sidecar and the server …
 * console.log(proxy.refusals.length);
 * await proxy.close();
 * ```
 */
export async function startEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  const policy = egressPolicy(options.allow, options.deny);
  await freeSocketPath(options.socketPath);
  const listener = Deno.listen({ transport: "unix", path: options.socketPath });
  try {
    await Deno.chmod(options.socketPath, 0o666);
  } catch (error) {
    listener.close();
    throw error;
  }
  return new EgressProxyServer(listener, policy, {
    socketPath: options.socketPath,
    lookup: options.lookup ?? systemLookup,
    onRefusal: options.onRefusal ?? refusalLog(),
    maxConnections: options.maxConnections ?? 64,
    maxHeaderBytes: options.maxHeaderBytes ?? 16384,
    headerTimeoutMs: options.headerTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    maxRefusals: options.maxRefusals ?? 100,
  });
}

class EgressProxyServer implements EgressProxy {
  readonly socketPath: string;
  #listener: Deno.Listener;
  #policy: EgressPolicy;
  #settings: Settings;
  #refusals: EgressRefusal[] = [];
  #sessions = new Set<EgressSession>();
  #tasks = new Set<Promise<void>>();
  #sweeper: ReturnType<typeof setInterval>;
  #accepting: Promise<void>;
  #closed = false;

  constructor(listener: Deno.Listener, policy: EgressPolicy, settings: Settings) {
    this.socketPath = settings.socketPath;
    this.#listener = listener;
    this.#policy = policy;
    this.#settings = settings;
    const shortest = Math.min(
      settings.headerTimeoutMs,
      settings.connectTimeoutMs,
      settings.idleTimeoutMs,
    );
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(20, Math.min(1000, shortest / 4)));
    Deno.unrefTimer(this.#sweeper);
    this.#accepting = this.#accept();
  }

  get refusals(): readonly EgressRefusal[] {
    return this.#refusals;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const session of this.#sessions) session.close();
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
    await Deno.remove(this.socketPath).catch(() => {});
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) this.#track(this.#serve(conn));
    } catch { /* the listener was closed */ }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  #sweep(): void {
    const now = Date.now();
    for (const session of this.#sessions) if (now > session.deadline) session.close();
  }

  async #serve(client: Deno.Conn): Promise<void> {
    const full = this.#sessions.size >= this.#settings.maxConnections;
    const session = new EgressSession(client, this.#settings.headerTimeoutMs);
    this.#sessions.add(session);
    try {
      if (full) {
        await writeAll(client, plainResponse(503, "Too many connections through the proxy"));
        return;
      }
      const read = await readHead(client, this.#settings.maxHeaderBytes);
      if (read.kind === "closed") return;
      if (read.kind === "error") {
        await writeAll(client, plainResponse(read.status, `Bad request: ${read.reason}`));
        return;
      }
      session.extend(this.#settings.connectTimeoutMs);
      if (read.head.method === "CONNECT") await this.#tunnel(session, read.head, read.rest);
      else await this.#forward(session, read.head, read.rest);
    } catch {
      // A connection that fails only ends itself; the client sees it closed.
    } finally {
      session.close();
      this.#sessions.delete(session);
    }
  }

  async #tunnel(session: EgressSession, head: RequestHead, rest: Uint8Array): Promise<void> {
    const upstream = await this.#open(session, parseTarget(head.target), head.target);
    if (!upstream) return;
    await writeAll(
      session.client,
      new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n"),
    );
    if (rest.length > 0) await writeAll(upstream, rest);
    // The client's end of input is passed on (a half-close), as a tunnel should.
    await this.#relay(session, upstream, async (touch) => {
      await pump(session.client, upstream, touch);
      await upstream.closeWrite();
    });
  }

  async #forward(session: EgressSession, head: RequestHead, rest: Uint8Array): Promise<void> {
    const url = /^http:\/\/([^/?#]*)(.*)$/i.exec(head.target);
    if (!url) {
      const why = /^[a-z][a-z0-9+.-]*:/i.test(head.target)
        ? "only http:// URLs are forwarded; use CONNECT for https"
        : "the request target must be an absolute http:// URL or CONNECT host:port";
      return await this.#answer(session, 400, why);
    }
    const [, authority, tail] = url;
    if (authority.includes("@")) {
      // The whole authority is logged: which part a client takes for the host varies.
      return await this.#refuse(session, {
        host: authority,
        port: 0,
        reason: "a URL with a user name (user@host) is refused: it hides the real host",
      });
    }
    const target = parseTarget(authority, 80);
    if (typeof target === "string") {
      return await this.#refuse(session, { host: authority, port: 0, reason: target });
    }
    const problem = hostHeaderProblem(head, target);
    if (problem) return await this.#refuse(session, { ...target, reason: problem });
    if (tail.includes("#")) return await this.#answer(session, 400, "a URL fragment is never sent");
    if (headerValues(head, "transfer-encoding").length > 0) {
      return await this.#answer(session, 411, "chunked request bodies are not forwarded");
    }
    const length = contentLength(head);
    if (length === undefined) return await this.#answer(session, 400, "bad Content-Length");
    const upstream = await this.#open(session, target, authority);
    if (!upstream) return;
    const host = target.port === 80 ? target.host : `${target.host}:${target.port}`;
    const path = tail === "" ? "/" : tail.startsWith("/") ? tail : `/${tail}`;
    await writeAll(upstream, originHead(head, path, host));
    // No half-close after the body: some servers read it as the client giving up.
    await this.#relay(session, upstream, async (touch) => {
      const first = rest.subarray(0, Math.min(rest.length, length));
      if (first.length > 0) await writeAll(upstream, first);
      await pump(session.client, upstream, touch, length - first.length);
    });
  }

  /** Relays the upstream's bytes to the client while `send` carries the client's the other way. */
  async #relay(
    session: EgressSession,
    upstream: Deno.Conn,
    send: (touch: () => void) => Promise<void>,
  ): Promise<void> {
    const touch = () => session.extend(this.#settings.idleTimeoutMs);
    touch();
    const sending = send(touch).catch(() => session.close());
    await pump(upstream, session.client, touch).catch(() => {});
    session.close();
    await sending;
  }

  /** Checks a target, resolves it, checks every address, and connects to a checked one. */
  async #open(
    session: EgressSession,
    target: EgressTarget | string,
    written: string,
  ): Promise<Deno.Conn | undefined> {
    if (typeof target === "string") {
      await this.#refuse(session, { host: written, port: 0, reason: target });
      return undefined;
    }
    const { host, port } = target;
    if (!grantFor(this.#policy, target)) {
      const reason = `${host}:${port} is not granted in the manifest's net permissions`;
      await this.#refuse(session, { host, port, reason });
      return undefined;
    }
    const addresses = await this.#resolve(session, target);
    if (addresses === undefined) return undefined;
    for (const address of addresses) {
      const why = parseIpv4(address) === undefined && parseIpv6(address) === undefined
        ? "the resolver did not return an address"
        : addressRefusal(this.#policy, address, port);
      if (why === undefined) continue;
      const reason = target.kind === "name" ? `${host} resolves to ${address}: ${why}` : why;
      await this.#refuse(session, { host, port, address, reason });
      return undefined;
    }
    for (const address of addresses.slice(0, 4)) {
      const conn = await session.connect({ hostname: address, port }).catch(() => null);
      if (conn === undefined) return undefined; // the session ended meanwhile
      if (conn !== null) return conn;
    }
    await this.#answer(session, 502, `Cannot connect to ${host}:${port}`);
    return undefined;
  }

  async #resolve(session: EgressSession, target: EgressTarget): Promise<string[] | undefined> {
    if (target.kind !== "name") {
      return [target.kind === "ipv6" ? target.host.slice(1, -1) : target.host];
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.#settings.connectTimeoutMs);
    });
    try {
      const found = await session.race(Promise.race([this.#settings.lookup(target.host), timeout]));
      if (found === undefined) return undefined;
      if (found !== null && found.length > 0) return found;
    } catch {
      /* answered below */
    } finally {
      clearTimeout(timer);
    }
    await this.#answer(session, 502, `Cannot resolve ${target.host}`);
    return undefined;
  }

  async #refuse(session: EgressSession, refusal: Omit<EgressRefusal, "at">): Promise<void> {
    const host = oneLine(refusal.host, 255);
    const full: EgressRefusal = { ...refusal, host, at: new Date().toISOString() };
    this.#refusals.push(full);
    if (this.#refusals.length > this.#settings.maxRefusals) this.#refusals.shift();
    try {
      this.#settings.onRefusal(full);
    } catch { /* a failing logger does not turn a refusal into a crash */ }
    const where = full.port === 0 ? host : `${host}:${full.port}`;
    await this.#answer(session, 403, `mcp-run egress proxy refused ${where}: ${full.reason}`);
  }

  async #answer(session: EgressSession, status: number, reason: string): Promise<void> {
    await writeAll(session.client, plainResponse(status, oneLine(reason, 1000)));
  }
}

/** Why the Host header of a plain request cannot go with its URL, if it cannot. */
function hostHeaderProblem(head: RequestHead, target: EgressTarget): string | undefined {
  const hosts = headerValues(head, "host");
  if (hosts.length === 0) return undefined;
  if (hosts.length > 1) return "the request has more than one Host header";
  const named = parseTarget(hosts[0], 80);
  if (typeof named === "string" || named.host !== target.host || named.port !== target.port) {
    return `the Host header names "${oneLine(hosts[0], 255)}", not the URL's host`;
  }
  return undefined;
}

/** The request body's length: 0 when none is given, `undefined` when the header is bad. */
function contentLength(head: RequestHead): number | undefined {
  const values = new Set(headerValues(head, "content-length").flatMap((v) => v.split(",")));
  if (values.size === 0) return 0;
  const [value] = [...values].map((v) => v.trim());
  if (values.size > 1 || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

function oneLine(text: string, max: number): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f]+/g, " ");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** Most refusal lines one proxy writes to stderr; `refusals` still keeps the latest. */
const REFUSAL_LINES = 100;

/**
 * The default refusal sink of {@linkcode startEgressProxy}: one line per refusal on stderr
 * (`mcp-run egress: refused host:port: reason`), the first 100 only.
 *
 * @returns A fresh sink (its own count of lines written).
 *
 * @example
 * ```ts
 * import { refusalLog } from "./egress_proxy.ts";
 * const log = refusalLog();
 * log({ host: "x.example", port: 80, reason: "not granted", at: new Date().toISOString() });
 * // mcp-run egress: refused x.example:80: not granted
 * ```
 */
export function refusalLog(): (refusal: EgressRefusal) => void {
  let written = 0;
  return (refusal) => {
    if (++written > REFUSAL_LINES) return;
    const where = refusal.port === 0 ? refusal.host : `${refusal.host}:${refusal.port}`;
    console.error(`mcp-run egress: refused ${where}: ${refusal.reason}`);
    if (written === REFUSAL_LINES) {
      console.error(`mcp-run egress: ${REFUSAL_LINES} refusals shown; further ones are not`);
    }
  };
}

async function systemLookup(host: string): Promise<string[]> {
  const { lookup } = await import("node:dns/promises");
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/** Makes the path free for a new socket: a stale socket goes, a live one or a file stays. */
async function freeSocketPath(path: string): Promise<void> {
  if (!path.startsWith("/")) {
    throw new TypeError(`Cannot listen on "${path}": give an absolute socket path`);
  }
  if (new TextEncoder().encode(path).length > 107) {
    throw new RangeError(
      `Cannot listen on "${path}": a Unix socket path has at most 107 bytes; use a shorter folder`,
    );
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const live = info.isSocket &&
    await Deno.connect({ transport: "unix", path }).then((c) => (c.close(), true), () => false);
  if (!info.isSocket || live) {
    throw new Deno.errors.AlreadyExists(
      `Cannot listen on "${path}": ${live ? "another proxy listens there" : "a file is there"}. ` +
        "Stop it or choose another path",
    );
  }
  await Deno.remove(path);
}
