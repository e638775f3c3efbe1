/**
 * Security proof, container packages and the network: the malicious Python fixture, pulled as a
 * `pypi:` package through mcp-run's own pull and as an `oci:` image by digest from a loopback
 * registry, runs under a manifest granting a few hosts, with the launcher (and so the egress
 * proxy it hosts) inside the fake internet of tests/fake_internet.ts, whose /etc/hosts maps:
 *
 * - `granted.test` → the public test address (granted on ports 80 and 443): the positive control;
 * - `evil.test` → the same public address, not granted;
 * - `loop.test` → 127.0.0.1, granted on the canary's port: a granted name that resolves to
 *   loopback, where a canary listener of the launcher's namespace counts connections;
 * - `zero.test` → 0.0.0.0 and `mapped.test` → ::ffff:127.0.0.1, granted: loopback spelt otherwise;
 * - `inside.test` → the private test address, granted: the fake API there logs any request.
 *
 * The fixture tries each host directly and through the proxy: CONNECT to IP literals and to the
 * names, plain HTTP with a forged Host, user-info URLs, a request smuggled behind a granted one,
 * and redirects from the granted host to the others. The
 * canaries are the loopback listener and the fake API's request log; the same attempts against
 * `granted.test` succeed. The proxy's refusals reach the launcher's stderr, and nothing is left
 * running. One pull and one launcher run per kind.
 *
 * Needs root (the namespace). In CI (CI=true) docker or the image missing fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import type { DriverConfig } from "./_container_net_driver.ts";
import { ATTEMPTS, CANARY_PORT, HOST_TRICKS, HOSTS, NET, ROUTES } from "./_container_net_plan.ts";
import { IMAGE } from "./_docker.ts";
import {
  EVIL_PACKAGE,
  evilOptions,
  evilProblem,
  evilServer,
  pullEvil,
  pullEvilImage,
  PYTHON_TEST_IMAGE,
  type Report,
} from "./_evil_container.ts";
import { ROOT, tempDir, toolEnv } from "./_helpers.ts";
import { runDriver } from "./_net_driver_run.ts";
import { removeOnExit } from "./_security.ts";
import {
  makeTestCertificates,
  PRIVATE_ADDRESS,
  PUBLIC_ADDRESS,
  runInFakeInternet,
  type TestCertificates,
} from "./fake_internet.ts";

const root = Deno.uid() === 0;
const problem = root ? await evilProblem() : "not root (the fake internet needs a namespace)";
if (problem && root && Deno.env.get("CI") === "true") {
  throw new Error(`Docker tests cannot be skipped in CI: ${problem}`);
}
if (problem) console.error(`security_container_net_test.ts: skipping, ${problem}`);

/** The package kinds whose servers get the egress proxy. */
const KINDS = ["pypi:", "oci:"] as const;
type Kind = typeof KINDS[number];
const nameOf = (kind: Kind) => `evil-net-${kind.slice(0, -1)}`;
/** The image references the oci: runs pulled, removed when the file ends. */
const references: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const ref of references) new Deno.Command("docker", { args: ["rmi", ref] }).outputSync();
});
/** Pulls the fixture of a kind and runs the driver in the fake internet with it. */
async function attack(kind: Kind): Promise<{
  reports: Record<string, Report>;
  canary: number;
  canaryControl: number;
  stderr: string;
  requests: { host: string; path: string; address: string }[];
  /** What a later run in the fake internet needs: its folder, the pulled cache, certificates. */
  scene: { dir: string; cache: string; certificates: TestCertificates; pkg: string };
}> {
  const dir = removeOnExit(tempDir("mcp-run-sec-container-net-"));
  const cache = join(dir, "cache");
  const grants = { name: nameOf(kind), net: NET };
  let pkg: string | undefined;
  if (kind === "pypi:") {
    await pullEvil(evilServer(grants, cache), cache);
  } else {
    const pulled = await pullEvilImage(grants, evilOptions(cache));
    pkg = pulled.server.specifier;
    references.push(pulled.reference);
  }
  const certificates = await makeTestCertificates(dir, Object.keys(HOSTS));
  const config: DriverConfig = {
    cache,
    name: nameOf(kind),
    package: pkg,
    net: NET,
    env: [],
    canaryPort: CANARY_PORT,
    attempts: ATTEMPTS,
  };
  const run = await runDriver("_container_net_driver.ts", config, {
    dir,
    certificates,
    timeoutMs: 150_000,
  });
  assert.equal(run.timedOut, false, run.stderr);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
  const scene = { dir, cache, certificates, pkg: pkg ?? EVIL_PACKAGE };
  return { ...out, stderr: run.stderr, requests: run.requests, scene };
}

/** Runs `mcp-run call` in the fake internet (a fresh namespace per call). */
async function cliCall(scene: Awaited<ReturnType<typeof attack>>["scene"], url: string) {
  const manifest = join(scene.dir, "evil-net.jsonc");
  const config = join(scene.dir, "config.json");
  await Deno.writeTextFile(
    config,
    JSON.stringify({ images: { deno: IMAGE, python: PYTHON_TEST_IMAGE } }),
  );
  await Deno.writeTextFile(
    manifest,
    JSON.stringify({
      name: nameOf("pypi:"),
      description: "A malicious Python test server",
      package: scene.pkg,
      permissions: { net: NET },
    }),
  );
  const args = ["call", manifest, "fetch", JSON.stringify({ url }), "--cache", scene.cache];
  const run = await runInFakeInternet(
    [Deno.execPath(), "run", "-A", join(ROOT, "mod.ts"), ...args],
    {
      dir: scene.dir,
      hosts: HOSTS,
      certificates: scene.certificates,
      routes: ROUTES,
      httpPort: 80,
      env: {
        ...toolEnv(),
        HOME: Deno.env.get("HOME") ?? "/root",
        NO_COLOR: "1",
        MCP_RUN_CONFIG: config,
      },
      timeoutMs: 120_000,
    },
  );
  assert.equal(run.timedOut, false, run.stderr);
  return { ...run, report: JSON.parse(run.stdout.trim() || "{}") };
}

const attacks = new Map<Kind, ReturnType<typeof attack>>();
/** One driver run per kind, shared by its tests. */
function attackOnce(kind: Kind): ReturnType<typeof attack> {
  if (!attacks.has(kind)) attacks.set(kind, attack(kind));
  return attacks.get(kind)!;
}

const base = { ignore: problem !== undefined, sanitizeResources: false, sanitizeOps: false };

function refused(report: Report, what: string): void {
  assert.equal(report.ok, false, `${what} got through: ${JSON.stringify(report)}`);
}

for (const kind of KINDS) {
  Deno.test({
    ...base,
    name:
      `DockerSandbox's egress proxy lets a container server reach exactly its granted host (${kind})`,
    fn: async () => {
      const { reports, requests } = await attackOnce(kind);
      const r = reports;
      assert.equal(r["control.fetch"].status, 200, JSON.stringify(r["control.fetch"]));
      assert.match(r["control.fetch"].body, /"granted"/);
      assert.equal(r["control.https"].status, 200, JSON.stringify(r["control.https"]));
      assert.equal(r["control.connect"].status, 200, JSON.stringify(r["control.connect"]));
      assert.equal(r["control.get"].status, 200, JSON.stringify(r["control.get"]));
      assert.equal(r["control.redirect"].final_url, "http://granted.test/ok");
      const granted = requests.filter((q) => q.host.startsWith("granted.test"));
      assert.ok(granted.length >= 4, JSON.stringify(requests));
    },
  });

  Deno.test({
    ...base,
    name:
      `DockerSandbox's egress proxy refuses an ungranted host and IP literals, over HTTP and CONNECT (${kind})`,
    fn: async () => {
      const { reports: r, requests, canary } = await attackOnce(kind);
      for (
        const label of ["ungranted.fetch", "ungranted.connect", "ungranted.port", "literal.private"]
      ) {
        refused(r[label], label);
        assert.equal(r[label].status, 403, `${label}: ${JSON.stringify(r[label])}`);
      }
      refused(r["ungranted.https"], "ungranted.https");
      const literals = ["loopback", "public", "get", "zero", "decimal", "short", "ipv6", "mapped"];
      for (const label of literals.map((l) => `literal.${l}`)) {
        refused(r[label], label);
        assert.equal(r[label].status, 403, `${label}: ${JSON.stringify(r[label])}`);
      }
      assert.match(r["ungranted.fetch"].error, /403/);
      assert.match(r["literal.loopback"].status_line, /403/);
      assert.equal(canary, 0, "the loopback canary was reached");
      assert.deepEqual(requests.filter((q) => q.host.startsWith("evil.test")), []);
    },
  });

  Deno.test({
    ...base,
    name:
      `DockerSandbox's egress proxy refuses a granted name that resolves to loopback or a private address (${kind})`,
    fn: async () => {
      const { reports: r, requests, canary, canaryControl, stderr } = await attackOnce(kind);
      for (
        const label of ["name.loopback", "name.loopbackGet", "name.private", "name.privateFetch"]
      ) {
        refused(r[label], label);
        assert.equal(r[label].status, 403, `${label}: ${JSON.stringify(r[label])}`);
      }
      // Refused after the proxy's own resolution, for what the name resolves to.
      for (const name of ["loop", "zero", "mapped", "inside"]) {
        const line = new RegExp(
          `^mcp-run egress: refused ${name}\\.test:\\d+: ${name}\\.test resolves to \\S+: ` +
            ".*a private or loopback address$",
          "m",
        );
        assert.match(stderr, line);
      }
      assert.equal(canary, 0, "the loopback canary was reached");
      // Positive control: the canary does count a connection that reaches it.
      assert.equal(canaryControl, 1);
      assert.deepEqual(requests.filter((q) => q.address === PRIVATE_ADDRESS), []);
    },
  });

  Deno.test({
    ...base,
    name: `DockerSandbox's egress proxy refuses Host-header tricks (${kind})`,
    fn: async () => {
      const { reports: r, requests, canary } = await attackOnce(kind);
      for (const label of HOST_TRICKS) {
        refused(r[label], label);
        assert.ok(r[label].status >= 400, `${label}: ${JSON.stringify(r[label])}`);
      }
      // A request smuggled behind a granted one is never sent: one request per proxy connection.
      assert.equal(r["smuggle.pipelined"].status, 200, JSON.stringify(r["smuggle.pipelined"]));
      assert.ok(!requests.some((q) => q.path === "/smuggled"), JSON.stringify(requests));
      assert.deepEqual(requests.filter((q) => !q.host.startsWith("granted.test")), []);
      assert.equal(canary, 0);
    },
  });

  Deno.test({
    ...base,
    name:
      `DockerSandbox's egress proxy checks each redirect again: granted to ungranted is refused (${kind})`,
    fn: async () => {
      const { reports: r, requests, canary } = await attackOnce(kind);
      for (const label of ["redirect.evil", "redirect.private", "redirect.loopback"]) {
        refused(r[label], label);
        assert.equal(r[label].status, 403, `${label}: ${JSON.stringify(r[label])}`);
      }
      // The first hop reached the granted host; the second never left.
      const paths = requests.map((q) => q.path);
      for (const path of ["/to-evil", "/to-private", "/to-loop"]) assert.ok(paths.includes(path));
      assert.deepEqual(requests.filter((q) => q.address === PRIVATE_ADDRESS), []);
      assert.equal(canary, 0);
    },
  });

  Deno.test({
    ...base,
    name: `DockerSandbox gives a container server no route around its egress proxy (${kind})`,
    fn: async () => {
      const { reports: r, canary } = await attackOnce(kind);
      for (
        const label of ["direct.public", "direct.private", "direct.loopback", "direct.resolve"]
      ) {
        refused(r[label], label);
      }
      assert.match(r["direct.public"].errno, /^(ENETUNREACH|EHOSTUNREACH)$/);
      assert.match(r["direct.private"].errno, /^(ENETUNREACH|EHOSTUNREACH)$/);
      // Its own loopback is the sidecar's, not the launcher's: the canary there is not reached.
      assert.equal(r["direct.loopback"].errno, "ECONNREFUSED");
      assert.match(r["direct.resolve"].errno, /^EAI_/);
      assert.equal(canary, 0);
    },
  });

  Deno.test({
    ...base,
    name:
      `DockerSandbox reports each egress refusal on the launcher's stderr and leaves nothing running (${kind})`,
    fn: async () => {
      const { stderr } = await attackOnce(kind);
      const lines = stderr.split("\n").filter((l) => l.startsWith("mcp-run egress: refused "));
      for (
        const where of [
          "evil.test:80",
          "evil.test:443",
          `${PRIVATE_ADDRESS}:80`,
          `127.0.0.1:${CANARY_PORT}`,
          `${PUBLIC_ADDRESS}:80`,
          `loop.test:${CANARY_PORT}`,
          "inside.test:80",
        ]
      ) {
        assert.ok(
          lines.some((l) => l.startsWith(`mcp-run egress: refused ${where}: `)),
          where + "\n" + stderr,
        );
      }
      assert.ok(lines.some((l) => l.includes(`the Host header names "evil.test"`)), stderr);
      // The granted attempts are not among them.
      assert.deepEqual(
        lines.filter((l) =>
          /^mcp-run egress: refused granted\.test:(80|443): granted\.test/.test(l)
        ),
        [],
      );
      for (
        let i = 0;
        i < 40 && (await listContainers({ "mcp-run.server": nameOf(kind) })).length;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(
        await listContainers({ "mcp-run.server": nameOf(kind) }),
        [],
        "containers left",
      );
    },
  });
}

Deno.test({
  ...base,
  name:
    "mcp-run call gives a pypi: server its granted host through the egress proxy, and reports a refusal",
  fn: async () => {
    const { scene } = await attackOnce("pypi:");
    // Positive control: the granted host answers.
    const granted = await cliCall(scene, "http://granted.test/ok");
    assert.equal(granted.code, 0, granted.stderr);
    assert.equal(granted.report.status, 200, granted.stdout);
    assert.deepEqual(granted.requests.map((q) => [q.host, q.path]), [["granted.test", "/ok"]]);
    const refused = await cliCall(scene, "http://granted.test/to-private");
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.report.status, 403, refused.stdout);
    assert.match(
      refused.stderr,
      new RegExp(`^mcp-run egress: refused ${PRIVATE_ADDRESS}:80: .*not granted`, "m"),
    );
    assert.deepEqual(refused.requests.map((q) => [q.host, q.path]), [[
      "granted.test",
      "/to-private",
    ]]);
    assert.deepEqual(await listContainers({ "mcp-run.server": nameOf("pypi:") }), []);
  },
});
