/**
 * Real local services for end-to-end tests: PostgreSQL and Redis from Debian packages, bound to
 * 127.0.0.1 on a free port. `tools/system_setup.sh` (run by `tools/test.sh`) installs them.
 *
 * @module
 */
import { join } from "node:path";

/** A running service. */
export interface LocalService {
  /** `127.0.0.1:<port>`. */
  host: string;
  /** The port. */
  port: number;
  /** Stops the service and removes its data. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function run(cmd: string, args: string[], options: { env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(cmd, { args, env: options.env, stdin: "null" }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${text.slice(-2000)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function missing(what: string): Error {
  return new Error(`${what} is not installed: run tools/system_setup.sh (tools/test.sh does)`);
}

async function postgresBin(): Promise<string> {
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      const bin = `/usr/lib/postgresql/${entry.name}/bin`;
      if (await exists(`${bin}/initdb`)) return bin;
    }
  } catch { /* not installed */ }
  throw missing("PostgreSQL");
}

/**
 * Starts a throwaway PostgreSQL cluster (trust auth, user `postgres`) and runs setup SQL.
 *
 * @param dir An empty folder for its data.
 * @param sql SQL run once it is up.
 * @returns The running service.
 */
export async function startPostgres(dir: string, sql = ""): Promise<LocalService> {
  const bin = await postgresBin();
  const port = freePort();
  const data = join(dir, "pgdata");
  const socket = join(dir, "pgsock");
  await Deno.mkdir(data);
  await Deno.mkdir(socket);
  await Deno.writeTextFile(join(dir, "postgres.log"), "");
  await Deno.chmod(dir, 0o755);
  await run("chown", ["postgres", data, socket, join(dir, "postgres.log")]);
  const as = (args: string[]) => run("runuser", ["-u", "postgres", "--", ...args]);
  await as([`${bin}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"]);
  await as([
    `${bin}/pg_ctl`,
    "-D",
    data,
    "-w",
    // A log file, so the server does not hold our output pipes open.
    "-l",
    join(dir, "postgres.log"),
    "-o",
    `-p ${port} -k ${socket} -c listen_addresses=127.0.0.1 -c fsync=off`,
    "start",
  ]);
  if (sql) {
    await run(`${bin}/psql`, ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-c", sql]);
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    stop: async () => {
      await as([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "stop"]).catch(() => {});
    },
  };
}

/**
 * Starts a throwaway Redis server without persistence.
 *
 * @returns The running service.
 */
export async function startRedis(): Promise<LocalService> {
  if (!await exists("/usr/bin/redis-server")) throw missing("Redis");
  const port = freePort();
  const child = new Deno.Command("/usr/bin/redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    stop: async () => {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

/** A loopback TCP listener that counts connections: a canary for network escapes. */
export interface Canary {
  /** `127.0.0.1:<port>`. */
  host: string;
  port: number;
  /** Connections accepted so far. */
  hits(): number;
  close(): void;
}

/**
 * Starts a canary listener on 127.0.0.1.
 *
 * @returns The canary.
 */
export function startCanary(): Canary {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let hits = 0;
  (async () => {
    for await (const conn of listener) {
      hits++;
      conn.close();
    }
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  return { host: `127.0.0.1:${port}`, port, hits: () => hits, close: () => listener.close() };
}
