import assert from "node:assert/strict";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";
import { DockerSandbox } from "./docker_sandbox.ts";
import { egressSummary } from "./egress_summary.ts";
import { GvisorSandbox, proxyOnlyNote } from "./gvisor_sandbox.ts";
import { GVISOR_PIDS_LIMIT } from "./docker_checks.ts";
import { serverFixture } from "../policy/_server_fixture.ts";

function server(specifier: string, net: string[] = []): ResolvedServer {
  return serverFixture({ name: "t", specifier, net, denyNet: ["127.0.0.0/8"] });
}

const options = { cacheRoot: "/c", source: {}, nameSuffix: "s1", user: "1000:1000" };
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
const mounts = (args: string[]) => args.filter((_, i) => args[i - 1] === "--mount");

Deno.test("GvisorSandbox.plan() runs a Deno server with net grants behind a forwarder inside its container", () => {
  const plan = new GvisorSandbox(options).plan(server("npm:x@1.0.0", ["api.test:443"]));
  assert.equal(after(plan.args, "--runtime"), "runsc");
  assert.equal(after(plan.args, "--network"), "none");
  assert.ok(
    mounts(plan.args).includes(
      "type=bind,src=/c/egress/socket-s1/proxy.sock,dst=/mcp-run-egress/proxy.sock,readonly",
    ),
  );
  assert.ok(
    mounts(plan.args).includes(
      "type=bind,src=/c/egress/forwarder/egress_forwarder.js," +
        "dst=/mcp-run-egress/egress_forwarder.js,readonly",
    ),
  );
  assert.ok(plan.args.includes("HTTPS_PROXY=http://127.0.0.1:3128"));
  const image = plan.args.indexOf("denoland/deno:2.9.6");
  assert.deepEqual(plan.args.slice(image + 1, image + 3), ["sh", "-c"]);
  assert.deepEqual(plan.args.slice(image + 4, image + 7), ["sh", "deno", "run"]);
  // Deno's own wall stays: the server may still reach only its granted host.
  assert.ok(plan.args.includes("--allow-net=api.test:443"));
  assert.ok(plan.args.some((a) => a.startsWith("--deny-net=") && a.includes("127.0.0.0/8")));
  assert.ok("egress" in plan && plan.egress);
  assert.equal(plan.egress.sidecar, undefined);
  assert.equal(plan.egress.inside?.socketPath, "/c/egress/socket-s1/proxy.sock");
  assert.deepEqual(plan.egress.allow, ["api.test:443"]);
  assert.match(egressSummary(plan.egress), /^proxy only, no sidecar: /);
});

Deno.test("GvisorSandbox.plan() leaves a server without net grants with no network and no wrapper", () => {
  const plan = new GvisorSandbox(options).plan(server("npm:x@1.0.0"));
  assert.equal(after(plan.args, "--network"), "none");
  assert.ok(!plan.args.includes("sh"));
  assert.ok(!plan.args.some((a) => a.includes("mcp-run-egress")));
  assert.ok(!("egress" in plan && plan.egress));
});

Deno.test("GvisorSandbox.plan() runs a pypi: server with net grants behind the Python forwarder", () => {
  const plan = new GvisorSandbox(options).plan(
    server("pypi:mcp-server-time@2026.10.19", ["api.test:443"]),
  );
  assert.equal(after(plan.args, "--runtime"), "runsc");
  assert.equal(after(plan.args, "--network"), "none");
  assert.equal(after(plan.args, "--entrypoint"), "sh");
  assert.ok(
    mounts(plan.args).some((m) => m.endsWith("dst=/mcp-run-egress/egress_forwarder.py,readonly")),
  );
  const c = plan.args.indexOf("-c");
  assert.match(
    plan.args[c + 1],
    /^ready=\$\( \(exec python3 -I \/mcp-run-egress\/egress_forwarder\.py /,
  );
  assert.deepEqual(plan.args.slice(c + 2), ["sh", "python3", "-I", "/mcp-run-code/entry.py"]);
  assert.ok(plan.args.includes("HTTP_PROXY=http://127.0.0.1:3128"));
  assert.ok("egress" in plan && plan.egress?.inside);
  assert.equal(plan.egress.sidecar, undefined);
});

Deno.test("GvisorSandbox.plan() refuses an oci: server with net grants, and a command to copy with net grants", () => {
  const sandbox = new GvisorSandbox(options);
  const oci = server(`oci:acme/srv@sha256:${"0".repeat(64)}`, ["api.test:443"]);
  assert.throws(
    () => sandbox.plan(oci),
    (e) =>
      e instanceof GrantError &&
      /use --isolation docker|Run it with --isolation docker/.test(e.message),
  );
  // Without net grants an oci: server runs.
  assert.equal(after(sandbox.plan(server(oci.specifier)).args, "--runtime"), "runsc");
  for (const specifier of ["npm:x@1.0.0", "pypi:mcp-server-time@2026.10.19"]) {
    assert.throws(
      () => sandbox.plan(server(specifier, ["api.test:443"]), { standalone: true }),
      (e) =>
        e instanceof GrantError &&
        e.message ===
          `Cannot write "t" (${specifier}) as a command to copy: it reaches api.test:443 only ` +
            "through mcp-run's egress proxy, which a copied docker command cannot start. Start " +
            "it with mcp-run run (or a launcher-form client entry)",
    );
  }
});

Deno.test("DockerSandbox.plan() keeps its own network paths: egress inside is gVisor's", () => {
  const sandbox = new DockerSandbox(options);
  const deno = sandbox.plan(server("npm:x@1.0.0", ["api.test:443"]));
  assert.equal(after(deno.args, "--network"), "bridge");
  assert.ok(!deno.args.includes("--runtime"));
  const pypi = sandbox.plan(server("pypi:mcp-server-time@2026.10.19", ["api.test:443"]));
  assert.ok("egress" in pypi && pypi.egress?.sidecar);
  assert.equal(after(pypi.args, "--network"), `container:${pypi.egress.sidecar}`);
});

Deno.test("GvisorSandbox.plan() never mounts a grant over the egress folder", () => {
  const sandbox = new GvisorSandbox(options);
  for (const specifier of ["npm:x@1.0.0", "pypi:mcp-server-time@2026.10.19"]) {
    for (const path of ["/mcp-run-egress", "/mcp-run-egress/proxy.sock"]) {
      const hostile = { ...server(specifier, ["api.test:443"]), read: [path] };
      assert.throws(() => sandbox.plan(hostile), /\/mcp-run-egress is never mounted/);
    }
  }
});

Deno.test("GvisorSandbox.plan() records only the forwarder's kind, so a JSON dry run stays short", () => {
  const plan = new GvisorSandbox(options).plan(server("npm:x@1.0.0", ["api.test:443"]));
  assert.ok("egress" in plan && plan.egress?.inside);
  assert.deepEqual(plan.egress.inside, {
    socketPath: "/c/egress/socket-s1/proxy.sock",
    forwarderDir: "/c/egress/forwarder",
    runtime: "deno",
  });
});

Deno.test("GvisorSandbox.plan() caps processes at GVISOR_PIDS_LIMIT unless a cap is given", () => {
  for (const specifier of ["npm:x@1.0.0", "pypi:mcp-server-time@2026.10.19"]) {
    const plan = new GvisorSandbox(options).plan(server(specifier));
    assert.equal(after(plan.args, "--pids-limit"), String(GVISOR_PIDS_LIMIT), specifier);
    const given = new GvisorSandbox({ ...options, pidsLimit: 300 }).plan(server(specifier));
    assert.equal(after(given.args, "--pids-limit"), "300", specifier);
  }
  // Docker keeps its own default.
  const docker = new DockerSandbox(options).plan(server("npm:x@1.0.0"));
  assert.equal(after(docker.args, "--pids-limit"), "256");
});

Deno.test("GvisorSandbox.prepare() and pull() refuse allowBuild before anything is checked or pulled", async () => {
  // No docker client can be started: a refusal that came after any docker step would say so.
  const sandbox = new GvisorSandbox({ ...options, allowBuild: true, docker: "/nonexistent" });
  const pypi = server("pypi:mcp-server-time@2026.10.19");
  for (const step of [() => sandbox.prepare(pypi), () => sandbox.pull(pypi)]) {
    await assert.rejects(step, {
      name: "RangeError",
      message:
        /^Cannot build "t" \(pypi:mcp-server-time@2026\.10\.19\) under gvisor isolation: .*runs under the host's kernel \(runc\), not gVisor/,
    });
  }
  // Positive control: without allowBuild, the same sandbox gets as far as the docker client.
  await assert.rejects(
    () => new GvisorSandbox({ ...options, docker: "/nonexistent" }).prepare(server("npm:x@1.0.0")),
    (error: Error) => error.name !== "RangeError",
  );
});

Deno.test("GvisorSandbox.prepare() checks the runtime on the engine the launch uses (DOCKER_HOST)", async () => {
  const cacheRoot = await Deno.makeTempDir({ prefix: "mcp-run-gvisor-engine-" });
  try {
    // The launch's engine is elsewhere: the check must not answer from the default engine.
    const elsewhere = new GvisorSandbox({
      cacheRoot,
      source: { DOCKER_HOST: "unix:///nonexistent/docker.sock" },
      autoPull: false,
    });
    await assert.rejects(() => elsewhere.prepare(server("npm:x@1.0.0")), {
      name: "DockerUnavailableError",
      message: /^Cannot use gvisor isolation: the Docker engine did not say which runtimes it has/,
    });
    // Positive control: naming the default engine gets past the check, to the missing pull.
    const here = new GvisorSandbox({
      cacheRoot,
      source: { DOCKER_HOST: "unix:///var/run/docker.sock" },
      autoPull: false,
    });
    const installed = await new Deno.Command("docker", { args: ["info"], stdout: "null" })
      .output().then((o) => o.success, () => false);
    // In CI the engine is there, so the positive control always runs.
    assert.ok(installed || Deno.env.get("CI") !== "true", "no Docker engine answers in CI");
    if (installed) {
      await assert.rejects(() => here.prepare(server("npm:x@1.0.0")), { name: "CacheError" });
    }
  } finally {
    await Deno.remove(cacheRoot, { recursive: true });
  }
});

Deno.test("proxyOnlyNote() names the grants on other ports than HTTP's, and only those", () => {
  assert.equal(
    proxyOnlyNote({ name: "t", net: ["api.test:443", "web.test:80", "any.test"] }),
    undefined,
  );
  const note = proxyOnlyNote({ name: "redis", net: ["127.0.0.1:16379", "api.test:443"] });
  assert.match(note ?? "", /"redis" reaches 127\.0\.0\.1:16379 only through mcp-run's HTTP proxy/);
  assert.doesNotMatch(note ?? "", /api\.test/);
  assert.match(note ?? "", /--isolation docker/);
});
