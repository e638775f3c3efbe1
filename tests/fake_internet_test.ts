import assert from "node:assert/strict";
import { join } from "node:path";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { dockerProblem, IMAGE } from "./_docker.ts";
import {
  makeTestCertificates,
  PRIVATE_ADDRESS,
  PUBLIC_ADDRESS,
  runInFakeInternet,
} from "./fake_internet.ts";
import type { FakeRoute } from "./fake_api.ts";

const API = "api.example.test";
const root = Deno.uid() === 0;
const dockerSkip = root ? await dockerProblem("fake_internet_test.ts: skipping") : "not root";
const routes: FakeRoute[] = [
  { path: "/hello", json: { hello: "from the fake API" } },
  { path: "/moved", status: 302, text: "", headers: { location: `http://${PRIVATE_ADDRESS}/` } },
];
const env = (caFile: string): Record<string, string> => ({
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  HOME: Deno.env.get("HOME") ?? "/root",
  DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno"),
  DENO_CERT: caFile,
  NO_COLOR: "1",
});

// Runs inside the namespace: what the fake internet looks like to a launcher.
const PROBE = `
const out = {};
const hello = await fetch("https://${API}/hello");
out.hello = await hello.json();
const moved = await fetch("http://${API}/moved", { redirect: "manual" });
out.moved = [moved.status, moved.headers.get("location")];
await moved.body?.cancel();
try {
  (await Deno.connect({ hostname: "1.1.1.1", port: 443 })).close();
  out.outside = "connected";
} catch (error) {
  out.outside = error.name;
}
console.log(JSON.stringify(out));
`;

Deno.test({
  name: "runInFakeInternet() runs a command that reaches the fake API by name and nothing else",
  ignore: !root,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const certificates = await makeTestCertificates(dir, [API]);
      const run = await runInFakeInternet([Deno.execPath(), "eval", PROBE], {
        dir,
        hosts: { [API]: PUBLIC_ADDRESS },
        certificates,
        routes,
        httpPort: 80,
        env: env(certificates.caFile),
        timeoutMs: 60_000,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.timedOut, false);
      const out = JSON.parse(run.stdout);
      assert.deepEqual(out.hello, { hello: "from the fake API" });
      assert.deepEqual(out.moved, [302, `http://${PRIVATE_ADDRESS}/`]);
      assert.equal(
        out.outside,
        "ConnectionRefused" === out.outside ? out.outside : "NetworkUnreachable",
      );
      assert.deepEqual(run.requests.map((r) => [r.host, r.path, r.address]), [
        [API, "/hello", PUBLIC_ADDRESS],
        [API, "/moved", PUBLIC_ADDRESS],
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "runInFakeInternet() gives the command the stdin given and stops it at the time limit",
  ignore: !root,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const certificates = await makeTestCertificates(dir, [API]);
      const base = { dir, hosts: { [API]: PUBLIC_ADDRESS }, certificates, routes };
      const cat = await runInFakeInternet(["/bin/cat"], { ...base, stdin: "piped in\n" });
      assert.equal(cat.stdout, "piped in\n");
      const started = Date.now();
      const slow = await runInFakeInternet(["/bin/sleep", "30"], { ...base, timeoutMs: 1500 });
      assert.equal(slow.timedOut, true);
      assert.notEqual(slow.code, 0);
      assert.ok(Date.now() - started < 20_000);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// Runs inside the namespace: a launcher-like relay on a Unix socket (as the egress proxy is),
// and a container with no network that reaches the fake API only through that socket.
/** The label of the relay's container, which the test checks is gone. */
const RELAY_LABEL = "mcp-run-test.role=fake-internet-relay";
const RELAY = `
const [socketPath, image, caFile] = Deno.args;
const ca = await Deno.readTextFile(caFile);
const listener = Deno.listen({ transport: "unix", path: socketPath });
await Deno.chmod(socketPath, 0o666);
(async () => {
  for await (const conn of listener) {
    const upstream = await Deno.connectTls({ hostname: "${API}", port: 443, caCerts: [ca] });
    conn.readable.pipeTo(upstream.writable).catch(() => {});
    upstream.readable.pipeTo(conn.writable).catch(() => {});
  }
})();
const client = "const c = await Deno.connect({ transport: 'unix', path: '/relay/relay.sock' });" +
  "await c.write(new TextEncoder().encode('GET /hello HTTP/1.1\\\\r\\\\nHost: ${API}\\\\r\\\\n" +
  "Connection: close\\\\r\\\\n\\\\r\\\\n'));" +
  "console.log(await new Response(c.readable).text());";
const run = await new Deno.Command("docker", {
  args: ["run", "--rm", "--label", "${RELAY_LABEL}", "--network", "none", "--user", "65534:65534", "-v",
    socketPath.replace(/\\/[^/]*$/, "") + ":/relay", image, "eval", client],
}).output();
console.log(new TextDecoder().decode(run.stdout));
console.error(new TextDecoder().decode(run.stderr));
Deno.exit(run.code);
`;

Deno.test({
  name: "runInFakeInternet() lets the command drive docker, and a container reach it by a socket",
  ignore: dockerSkip !== undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const sockets = await Deno.makeTempDir();
    await Deno.chmod(sockets, 0o755);
    try {
      const certificates = await makeTestCertificates(dir, [API]);
      const run = await runInFakeInternet(
        [Deno.execPath(), "eval", RELAY, join(sockets, "relay.sock"), IMAGE, certificates.caFile],
        {
          dir,
          hosts: { [API]: PUBLIC_ADDRESS },
          certificates,
          routes,
          env: env(certificates.caFile),
          timeoutMs: 90_000,
        },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^HTTP\/1\.1 200 OK/);
      assert.match(run.stdout, /"hello":"from the fake API"/);
      assert.deepEqual(run.requests.map((r) => [r.host, r.path]), [[API, "/hello"]]);
      // Its own container only: other test files run containers of the same image meanwhile.
      const left = await runDocker(["ps", "-aq", "--filter", `label=${RELAY_LABEL}`]);
      assert.equal(left.stdout.trim(), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(sockets, { recursive: true });
    }
  },
});
