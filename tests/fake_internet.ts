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
