/**
 * A fake internet for end-to-end tests of servers that call an internet API.
 *
 * The server is started exactly as the launcher plans it, but inside a new network and mount
 * namespace (`unshare -n -m`, so root is needed) where:
 * - the only interface is loopback, with a public test address (203.0.113.10, TEST-NET-3) and a
 *   private one (10.99.0.10) added to it — no traffic can leave the namespace;
 * - `/etc/hosts` is replaced (bind mount, private to the namespace) so each API host name
 *   resolves to the address the test chooses;
 * - {@linkcode ./fake_api.ts} answers HTTPS on both addresses with a certificate for the API
 *   hosts, signed by a throwaway CA that reaches the server through `DENO_CERT` (a variable
 *   the launcher passes on for TLS trust).
 *
 * Mapping a host to the public address shows the server working under its manifest's flags;
 * mapping it to the private address shows the always-on `--deny-net` refusing a granted name
 * that resolves inside the private network.
 *
 * {@linkcode runInFakeInternet} runs any command there instead, e.g. the launcher
 * (`deno run … runtime/cli.ts call …`) of a container server: the launcher and the egress proxy
 * it hosts see the fake internet, while Unix sockets (the Docker engine's, a proxy socket
 * mounted into a container) reach across as usual, since only the network is new.
 *
 * @module
 */
import { join } from "node:path";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import type { FakeApiConfig, FakeRequest, FakeRoute } from "./fake_api.ts";

/** The public test address API hosts normally resolve to. */
export const PUBLIC_ADDRESS = "203.0.113.10";
/** A private address, inside the launcher's deny list. */
export const PRIVATE_ADDRESS = "10.99.0.10";

/** A throwaway certificate authority and one server certificate. */
export interface TestCertificates {
  /** PEM file of the CA, for `DENO_CERT`. */
  caFile: string;
  /** PEM server certificate chain. */
  cert: string;
  /** PEM server key. */
  key: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Makes a CA and a certificate valid for the given host names, with the `openssl` CLI.
 *
 * @param dir Folder to write the files in.
 * @param hosts DNS names the server certificate covers.
 * @returns The CA file and the server certificate and key.
 */
export async function makeTestCertificates(
  dir: string,
  hosts: string[],
): Promise<TestCertificates> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=mcp-run test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    `/CN=${hosts[0]}`,
  ], dir);
  await Deno.writeTextFile(
    join(dir, "ext.cnf"),
    `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}\n` +
      "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ], dir);
  return {
    caFile: join(dir, "ca.pem"),
    cert: await Deno.readTextFile(join(dir, "server.pem")),
    key: await Deno.readTextFile(join(dir, "server.key")),
  };
}

/** Options for {@linkcode fakeInternetPlan}. */
export interface FakeInternetOptions {
  /** Folder for the hosts file, config, log (must exist). */
  dir: string;
  /** Host names and the address each resolves to. */
  hosts: Record<string, string>;
  /** Certificates from {@linkcode makeTestCertificates}. */
  certificates: TestCertificates;
  /** Canned API answers. */
  routes: FakeRoute[];
  /** The Deno binary that runs the fake API (default: the running one). */
  deno?: string;
  /** Also answer plain HTTP on this port (e.g. 80), for proxies' plain-HTTP and redirect cases. */
  httpPort?: number;
}

/** A launch plan wrapped to run in the fake internet, and its request log. */
export interface FakeInternet {
  /** The wrapped plan: same program, argv, environment and folder, inside the namespace. */
  plan: LaunchPlan;
  /** Reads the requests the fake API received so far. */
  requests(): FakeRequest[];
}

/**
 * Wraps a launch plan so the server runs inside a fresh network namespace with a fake API.
 *
 * The server's own argv, environment and working folder are exactly the plan's. Requires root
 * (for `unshare`, `ip` and `mount`) and `openssl` for the certificates.
 *
 * @param plan The launcher's plan for the server.
 * @param options Host mapping, certificates, routes.
 * @returns The wrapped plan and a reader for the request log.
 */
export async function fakeInternetPlan(
  plan: LaunchPlan,
  options: FakeInternetOptions,
): Promise<FakeInternet> {
  const { dir } = options;
  const hostsFile = join(dir, "hosts");
  const log = join(dir, "requests.jsonl");
  const ready = join(dir, "ready");
  const configFile = join(dir, "fake_api.json");
  await Deno.writeTextFile(
    hostsFile,
    "127.0.0.1 localhost\n" +
      Object.entries(options.hosts).map(([host, address]) => `${address} ${host}\n`).join(""),
  );
  await Deno.writeTextFile(log, "");
  await Deno.remove(ready).catch(() => {});
  const config: FakeApiConfig = {
    addresses: [PUBLIC_ADDRESS, PRIVATE_ADDRESS],
    cert: options.certificates.cert,
    key: options.certificates.key,
    routes: options.routes,
    log,
    ready,
    httpPort: options.httpPort,
  };
  await Deno.writeTextFile(configFile, JSON.stringify(config));
  const fakeApi = new URL("./fake_api.ts", import.meta.url).pathname;
  const deno = options.deno ?? Deno.execPath();
  // Runs as root in new namespaces (absolute paths: the server's environment has no PATH). The
  // server becomes PID 1 of a new PID namespace, so when it exits the fake API goes with it.
  const script = [
    "set -e",
    "/bin/ip link set lo up",
    `/bin/ip addr add ${PUBLIC_ADDRESS}/32 dev lo`,
    `/bin/ip addr add ${PRIVATE_ADDRESS}/32 dev lo`,
    `/usr/bin/mount --bind '${hostsFile}' /etc/hosts`,
    // The fake API is not the server: it keeps out of the server's permission audit.
    `/usr/bin/env -u DENO_AUDIT_PERMISSIONS '${deno}' run -A --no-config '${fakeApi}' '${configFile}' >/dev/null 2>&1 &`,
    `i=0; while [ ! -f '${ready}' ]; do i=$((i+1)); [ $i -gt 400 ] && exit 97; /bin/sleep 0.05; done`,
    'exec "$@"',
  ].join("\n");
  return {
    plan: {
      program: "/usr/bin/unshare",
      args: [
        "--pid",
        "--fork",
        "--kill-child",
        "--net",
        "--mount",
        "/bin/sh",
        "-c",
        script,
        "fake-internet",
        plan.program,
        ...plan.args,
      ],
      env: plan.env,
      cwd: plan.cwd,
    },
    requests: () =>
      Deno.readTextFileSync(log).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)),
  };
}

/** Options for {@linkcode runInFakeInternet}: the fake internet's, and the command's own. */
export interface RunInFakeInternetOptions extends FakeInternetOptions {
  /** The command's complete environment (default: none but `PATH`). */
  env?: Record<string, string>;
  /** Its working folder (default: the current one). */
  cwd?: string;
  /** Text written to its standard input, then closed (default: none). */
  stdin?: string;
  /** Milliseconds before the command and the namespace are killed (default 120000). */
  timeoutMs?: number;
}

/** What a command run by {@linkcode runInFakeInternet} did. */
export interface FakeInternetRun {
  /** Exit code (137 and `timedOut` when the time ran out). */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
  /** Whether {@linkcode RunInFakeInternetOptions.timeoutMs} ran out. */
  timedOut: boolean;
  /** The requests the fake API received. */
  requests: FakeRequest[];
}

/**
 * Runs a command to completion inside a fresh network namespace with the fake API up, as
 * {@linkcode fakeInternetPlan} does for a server, and returns what it printed and what the fake
 * API received. The namespace, and everything the command started in it, ends with it; Docker
 * containers it started live in the engine's namespaces and are the command's to remove.
 *
 * Requires root (`unshare`, `ip`, `mount`) and `openssl`.
 *
 * @param command Program and arguments; the program by absolute path or found on `env.PATH`.
 * @param options The fake internet (hosts, certificates, routes) and the command's environment,
 *   folder, input and time limit.
 * @returns Exit code, output, whether it timed out, and the fake API's request log.
 * @throws {Error} If the command cannot be started.
 * @example
 * ```ts ignore
 * const dir = await Deno.makeTempDir();
 * const certificates = await makeTestCertificates(dir, ["api.example.test"]);
 * const run = await runInFakeInternet([Deno.execPath(), "eval", "…"], {
 *   dir,
 *   hosts: { "api.example.test": PUBLIC_ADDRESS },
 *   certificates,
 *   routes: [{ path: "/hello", json: { hello: "world" } }],
 *   env: { DENO_CERT: certificates.caFile },
 * });
 * ```
 */
export async function runInFakeInternet(
  command: string[],
  options: RunInFakeInternetOptions,
): Promise<FakeInternetRun> {
  const env = options.env ?? { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  const { plan, requests } = await fakeInternetPlan({
    program: command[0],
    args: command.slice(1),
    env,
    cwd: options.cwd ?? Deno.cwd(),
  }, options);
  const child = new Deno.Command(plan.program, {
    args: plan.args,
    env: plan.env,
    clearEnv: true,
    cwd: plan.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // SIGKILL: unshare ignores SIGTERM while it waits; its death takes the namespace along
  // (--kill-child, and the command is the PID namespace's init).
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 120_000);
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin)).catch(() => {});
    await writer.close().catch(() => {});
  }
  const out = await child.output().finally(() => clearTimeout(timer));
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    timedOut,
    requests: requests(),
  };
}
