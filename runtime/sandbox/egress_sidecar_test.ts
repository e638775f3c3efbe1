import assert from "node:assert/strict";
import {
  EGRESS_PORT,
  egressClientEnv,
  egressNetwork,
  egressSidecarArgs,
  egressSidecarName,
} from "./egress_sidecar.ts";
import { DENO_IMAGE } from "./docker_names.ts";

const BASE = {
  name: "mcp-run-fetch-a1b2-egress",
  socketPath: "/home/me/.cache/mcp-run/egress/a1b2.sock",
  forwarderDir: "/home/me/.cache/mcp-run/egress",
};

/** The value after a flag, for each time the flag appears. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
}

Deno.test("egressSidecarArgs() hardens the sidecar like every mcp-run container and gives it no network", () => {
  const argv = egressSidecarArgs({
    ...BASE,
    serverName: "fetch",
    labels: { "mcp-run.launcher": "42" },
  });
  assert.deepEqual(argv.slice(0, 7), ["run", "-d", "--rm", "--pull", "never", "--name", BASE.name]);
  for (const flag of ["--read-only"]) assert.ok(argv.includes(flag), flag);
  assert.deepEqual(values(argv, "--cap-drop"), ["ALL"]);
  assert.deepEqual(values(argv, "--security-opt"), ["no-new-privileges"]);
  assert.deepEqual(values(argv, "--user"), ["1993:1993"]);
  assert.deepEqual(values(argv, "--network"), ["none"]);
  assert.deepEqual(values(argv, "--pids-limit"), ["64"]);
  assert.deepEqual(values(argv, "--memory"), ["128m"]);
  assert.deepEqual(values(argv, "--memory-swap"), ["128m"]);
  assert.deepEqual(values(argv, "--cpus"), ["0.5"]);
  assert.deepEqual(values(argv, "--tmpfs"), ["/tmp:rw,noexec,nosuid,nodev,size=16m"]);
  assert.deepEqual(values(argv, "--mount"), [
    `type=bind,src=${BASE.forwarderDir},dst=/mcp-run-egress,readonly`,
    `type=bind,src=${BASE.socketPath},dst=/mcp-run-egress-socket/proxy.sock,readonly`,
  ]);
  assert.deepEqual(values(argv, "--label"), [
    "mcp-run=1",
    "mcp-run.launcher=42",
    "mcp-run.role=egress",
    "mcp-run.server=fetch",
  ]);
  assert.ok(!argv.some((a) => a.includes("docker.sock") || a === "--privileged"));
  const image = argv.indexOf(DENO_IMAGE);
  assert.deepEqual(argv.slice(image + 1), [
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    "--no-remote",
    "--no-npm",
    `--allow-net=127.0.0.1:${EGRESS_PORT},unix:/mcp-run-egress-socket/proxy.sock`,
    "--allow-read=/mcp-run-egress-socket/proxy.sock",
    "--allow-write=/mcp-run-egress-socket/proxy.sock",
    "/mcp-run-egress/egress_forwarder.js",
    "/mcp-run-egress-socket/proxy.sock",
    String(EGRESS_PORT),
    "256",
  ]);
});

Deno.test("egressSidecarArgs() takes an image, user, limits and port, and refuses unsafe ones", () => {
  const argv = egressSidecarArgs({
    ...BASE,
    image: "mcp-run-test/deno:2.9.6",
    user: "1000:1000",
    memory: "64m",
    port: 8118,
  });
  assert.ok(argv.includes("mcp-run-test/deno:2.9.6"));
  assert.deepEqual(values(argv, "--user"), ["1000:1000"]);
  assert.deepEqual(values(argv, "--memory"), ["64m"]);
  assert.ok(argv.includes("--allow-net=127.0.0.1:8118,unix:/mcp-run-egress-socket/proxy.sock"));
  for (
    const bad of [
      { user: "0:0" },
      { user: "root" },
      { image: "denoland/deno:latest" },
      { name: "bad name" },
      { name: "-x" },
      { socketPath: "relative.sock" },
      { socketPath: "/a,dst=/etc/x" },
      { forwarderDir: "/a/../etc" },
      { memory: "lots" },
      { port: 0 },
      { labels: { "Bad Key": "x" } },
    ]
  ) {
    assert.throws(() => egressSidecarArgs({ ...BASE, ...bad }), RangeError, JSON.stringify(bad));
  }
});

Deno.test("egressClientEnv() points every proxy variable at the forwarder and bypasses nothing", () => {
  const url = `http://127.0.0.1:${EGRESS_PORT}`;
  assert.deepEqual(egressClientEnv(), {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    ALL_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    all_proxy: url,
    NO_PROXY: "",
    no_proxy: "",
  });
  assert.equal(egressClientEnv(8118).HTTPS_PROXY, "http://127.0.0.1:8118");
});

Deno.test("egressSidecarName() and egressNetwork() name the sidecar and the namespace to join", () => {
  assert.equal(egressSidecarName("my server", "a1b2"), "mcp-run-my_server-a1b2-egress");
  assert.equal(egressNetwork("mcp-run-fetch-a1b2-egress"), "container:mcp-run-fetch-a1b2-egress");
  assert.throws(() => egressNetwork("host --privileged"), RangeError);
  assert.throws(() => egressSidecarName("x", "bad suffix"), RangeError);
});
