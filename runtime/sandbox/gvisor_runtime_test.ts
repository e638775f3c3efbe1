import assert from "node:assert/strict";
import { gvisorRuntimeProblem, GvisorUnavailableError } from "./gvisor_runtime.ts";

const FULL = JSON.stringify({
  runc: { path: "runc" },
  runsc: {
    path: "/usr/bin/runsc",
    runtimeArgs: ["--network=none", "--host-uds=open", "--host-fifo=open"],
  },
});

Deno.test("gvisorRuntimeProblem() accepts a runtime registered with what the launch needs", () => {
  assert.equal(gvisorRuntimeProblem(FULL, "runsc", { uds: true, fifo: true }), undefined);
  assert.equal(gvisorRuntimeProblem(FULL, "runsc", {}), undefined);
  // Newer gVisor spells "open and create" as all; single-dash Go flags count too.
  const all = { runsc: { path: "runsc", runtimeArgs: ["-host-uds=all", "-host-fifo=open"] } };
  assert.equal(gvisorRuntimeProblem(all, "runsc", { uds: true, fifo: true }), undefined);
});

Deno.test("gvisorRuntimeProblem() names the runtime gVisor is registered as when the name is another", () => {
  const problem = gvisorRuntimeProblem(FULL, "nosuch", {});
  assert.equal(problem?.kind, "missing");
  assert.equal(
    problem?.message,
    'Cannot use gvisor isolation: the Docker engine has no runtime named "nosuch" (it has: ' +
      'runc, runsc). It has gVisor registered as "runsc": set "gvisorRuntime": "runsc" in ' +
      'mcp-run\'s config file (or remove the key: "runsc" is the default)',
  );
  // Registered under a name other than the default, removing the key would not help.
  const gv = { gv: { path: "/usr/bin/runsc" } };
  const named = gvisorRuntimeProblem(gv, "runsc", {});
  assert.match(
    named?.message ?? "",
    /registered as "gv": set "gvisorRuntime": "gv" in mcp-run's config file$/,
  );
});

Deno.test("gvisorRuntimeProblem() says what to install when no runtime has the name", () => {
  const problem = gvisorRuntimeProblem({ runc: { path: "runc" } }, "gvisor", {});
  assert.ok(problem instanceof GvisorUnavailableError);
  assert.equal(problem.kind, "missing");
  assert.equal(
    problem.message,
    'Cannot use gvisor isolation: the Docker engine has no runtime named "gvisor" (it has: ' +
      "runc). Install gVisor (Debian/Ubuntu: apt-get install runsc; elsewhere: " +
      "https://gvisor.dev/docs/user_guide/install/), add these lines to /etc/docker/daemon.json: " +
      '{"runtimes": {"gvisor": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none", ' +
      '"--host-uds=open", "--host-fifo=open"]}}}, then reload the engine (systemctl reload ' +
      "docker, or kill -HUP $(pidof dockerd)). --isolation docker runs the same container " +
      "under the host's kernel: a weaker wall",
  );
  assert.match(gvisorRuntimeProblem("{}", "runsc", {})!.message, /\(it has: none\)/);
  assert.equal(gvisorRuntimeProblem("null", "runsc", {})?.kind, "missing");
});

Deno.test("gvisorRuntimeProblem() names each runtime argument the launch needs and lacks", () => {
  const bare = { runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none"] } };
  const uds = gvisorRuntimeProblem(bare, "runsc", { uds: true });
  assert.equal(uds?.kind, "incomplete");
  assert.match(uds!.message, /registered without --host-uds=open in its runtimeArgs \(/);
  assert.match(uds!.message, /egress proxy/);
  assert.doesNotMatch(uds!.message, /--host-fifo=open in/);
  const both = gvisorRuntimeProblem(
    { runsc: { path: "/usr/bin/runsc" } },
    "runsc",
    { uds: true, fifo: true },
  );
  assert.match(both!.message, /without --host-uds=open and --host-fifo=open in its runtimeArgs/);
  assert.match(both!.message, /daemon\.json/);
  // A value that does not allow opening is not enough.
  const none = {
    runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--host-uds=create", "--host-fifo=none"] },
  };
  assert.equal(gvisorRuntimeProblem(none, "runsc", { uds: true })?.kind, "incomplete");
  assert.equal(gvisorRuntimeProblem(none, "runsc", { fifo: true })?.kind, "incomplete");
  // What the launch does not need is not asked for.
  assert.equal(gvisorRuntimeProblem(bare, "runsc", { uds: false, fifo: false }), undefined);
});

Deno.test("gvisorRuntimeProblem() refuses a hostile runtime name and text that is not JSON", () => {
  assert.throws(() => gvisorRuntimeProblem(FULL, "runsc --privileged", {}), RangeError);
  assert.throws(() => gvisorRuntimeProblem(FULL, "__proto__x;", {}), RangeError);
  assert.equal(gvisorRuntimeProblem(FULL, "constructor", {})?.kind, "missing");
  assert.throws(() => gvisorRuntimeProblem("not json", "runsc", {}), SyntaxError);
});

Deno.test("gvisorRuntimeProblem() accepts runtime arguments written as two words", () => {
  const split = {
    runsc: {
      path: "/usr/local/bin/runsc",
      runtimeArgs: ["--network", "none", "--host-uds", "open", "-host-fifo", "open"],
    },
  };
  assert.equal(gvisorRuntimeProblem(split, "runsc", { uds: true, fifo: true }), undefined);
  // A flag with no value, or one whose next word is another value, does not count.
  const dangling = { runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--host-uds"] } };
  assert.equal(gvisorRuntimeProblem(dangling, "runsc", { uds: true })?.kind, "incomplete");
  const later = {
    runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--host-uds=open", "--host-uds", "none"] },
  };
  assert.equal(gvisorRuntimeProblem(later, "runsc", { uds: true })?.kind, "incomplete");
});

Deno.test("gvisorRuntimeProblem() refuses a runtime name registered for a program that is not runsc", () => {
  // Malicious config: the user config names runc as "the gVisor runtime".
  const runc = gvisorRuntimeProblem(FULL, "runc", {});
  assert.ok(runc instanceof GvisorUnavailableError);
  assert.equal(runc.kind, "not-gvisor");
  assert.match(
    runc.message,
    /the engine's "runc" runtime runs the program "runc", not gVisor's runsc/,
  );
  assert.match(runc.message, /It has gVisor registered as "runsc": set "gvisorRuntime": "runsc"/);
  // With no gVisor registered, the advice registers runsc under its own name, never over runc's.
  const onlyRunc = gvisorRuntimeProblem({ runc: { path: "runc" } }, "runc", {});
  assert.equal(onlyRunc?.kind, "not-gvisor");
  assert.match(onlyRunc?.message ?? "", /Register runsc as "runsc" and remove "gvisorRuntime"/);
  assert.match(onlyRunc?.message ?? "", /\{"runtimes": \{"runsc": \{"path": "\/usr\/bin\/runsc"/);
  assert.doesNotMatch(onlyRunc?.message ?? "", /"runc": \{"path": "\/usr\/bin\/runsc"/);
  // A "runsc" name that runs another program is pointed at runsc.
  const wrongRunsc = gvisorRuntimeProblem({ runsc: { path: "/usr/bin/crun" } }, "runsc", {});
  assert.match(wrongRunsc?.message ?? "", /Point "runsc" at runsc/);
  // A look-alike name, arguments and all, is not runsc either.
  const fake = {
    gvisor: {
      path: "/usr/bin/runsc-not",
      runtimeArgs: ["--network=none", "--host-uds=open", "--host-fifo=open"],
    },
  };
  assert.equal(gvisorRuntimeProblem(fake, "gvisor", { uds: true })?.kind, "not-gvisor");
  assert.equal(gvisorRuntimeProblem({ runsc: {} }, "runsc", {})?.kind, "not-gvisor");
  // Positive controls: runsc under another name and folder, or the containerd shim.
  assert.equal(gvisorRuntimeProblem({ gv: { path: "/opt/gvisor/runsc" } }, "gv", {}), undefined);
  const shim = { runsc: { runtimeType: "io.containerd.runsc.v1" } };
  assert.equal(gvisorRuntimeProblem(shim, "runsc", {}), undefined);
  // The shim's flags live in its own configuration file, which the engine does not show.
  assert.equal(gvisorRuntimeProblem(shim, "runsc", { uds: true, fifo: true }), undefined);
  // A path registration shows its arguments, so they are checked (positive control).
  const bare = { runsc: { path: "/usr/bin/runsc" } };
  assert.equal(gvisorRuntimeProblem(bare, "runsc", { uds: true, fifo: true })?.kind, "incomplete");
});
