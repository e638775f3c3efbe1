import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { GrantError } from "../policy/grant_error.ts";
import {
  PYTHON_CODE_DIR,
  PYTHON_ENTRY,
  PYTHON_IMAGE,
  pythonDirs,
  pythonPullArgs,
  pythonRunArgs,
} from "./python_plan.ts";
import { containerLaunchPlan } from "./container_launch.ts";
import { egressClientEnv, egressNetwork, egressSidecarName } from "./egress_sidecar.ts";

function server(overrides: Partial<ResolvedServer> = {}): ResolvedServer {
  return serverFixture({
    name: "time",
    specifier: "pypi:mcp-server-time@2026.10.19",
    ...overrides,
  });
}

const CODE = "/cache/python/time/x/code";

function valueOf(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
}

Deno.test("pythonRunArgs() hardens the container and runs the installed entry point", () => {
  const argv = pythonRunArgs(server({ args: ["--local-timezone", "UTC"] }), {
    codeDir: CODE,
    nameSuffix: "a1",
    user: "1000:1000",
  });
  for (const flag of ["--read-only", "-i", "--rm"]) assert.ok(argv.includes(flag), flag);
  assert.deepEqual(valueOf(argv, "--cap-drop"), ["ALL"]);
  assert.deepEqual(valueOf(argv, "--security-opt"), ["no-new-privileges"]);
  assert.deepEqual(valueOf(argv, "--user"), ["1000:1000"]);
  assert.deepEqual(valueOf(argv, "--pull"), ["never"]);
  assert.deepEqual(valueOf(argv, "--network"), ["none"]);
  assert.match(valueOf(argv, "--tmpfs")[0], /^\/tmp:rw,noexec,nosuid,nodev,size=64m$/);
  assert.deepEqual(valueOf(argv, "--mount"), [
    `type=bind,src=${CODE},dst=${PYTHON_CODE_DIR},readonly`,
  ]);
  assert.deepEqual(valueOf(argv, "-e"), [
    "HOME=/tmp",
    "PYTHONDONTWRITEBYTECODE=1",
    "PYTHONUNBUFFERED=1",
  ]);
  assert.deepEqual(valueOf(argv, "--entrypoint"), ["python3"]);
  const image = argv.indexOf(PYTHON_IMAGE);
  assert.deepEqual(argv.slice(image), [
    PYTHON_IMAGE,
    "-I",
    PYTHON_ENTRY,
    "--local-timezone",
    "UTC",
  ]);
  for (const word of ["uvx", "pip", "--privileged", "bridge", "host"]) {
    assert.ok(!argv.includes(word), word);
  }
});

Deno.test("pythonRunArgs() mounts only declared paths and passes only declared names", () => {
  const argv = pythonRunArgs(
    server({ read: ["/data/in"], write: ["/data/out"], env: ["TZ", "API_KEY", "APP_*"] }),
    { codeDir: CODE, env: { TZ: "UTC" } },
  );
  assert.deepEqual(valueOf(argv, "--mount").slice(1), [
    "type=bind,src=/data/in,dst=/data/in,readonly",
    "type=bind,src=/data/out,dst=/data/out",
  ]);
  // Values only for what is given by value; secrets by name; patterns never verbatim.
  assert.deepEqual(valueOf(argv, "-e").slice(3), ["TZ=UTC", "API_KEY"]);
});

Deno.test("pythonRunArgs() refuses hostile grants, names and images", () => {
  const cases: [Partial<ResolvedServer>, Record<string, unknown>, RegExp][] = [
    [{ read: ["/"] }, {}, /whole file system/],
    [{ read: ["/var/run/docker.sock"] }, {}, /never mounted/],
    [{ read: [PYTHON_CODE_DIR] }, {}, /never mounted/],
    [{ write: [`${PYTHON_CODE_DIR}/lib`] }, {}, /never mounted/],
    [{ read: ["/proc/self"] }, {}, /never mounted/],
    [{ read: ["/tmp"] }, {}, /private \/tmp/],
    [{ read: ["/data/../etc"] }, {}, /not canonical/],
    [{ read: ["/data/a,dst=/etc"] }, {}, /cannot be written as a docker --mount/],
    [{ env: ["HOME"] }, {}, /mcp-run sets it itself/],
    [{ env: ["PYTHONDONTWRITEBYTECODE"] }, {}, /mcp-run sets it itself/],
    [{ env: ["A=B"] }, {}, /not a valid variable name/],
    [{}, { codeDir: "/c/a,b" }, /code folder/],
    [{}, { codeDir: "relative" }, /not absolute/],
    [{}, { image: "python:latest" }, /latest is a moving tag/],
    [{}, { image: "--privileged" }, /as the image/],
    [{}, { user: "0:0" }, /never run as root/],
    [{}, { memory: "1g --privileged" }, /--memory/],
    [{ specifier: "pypi:x@>=1" }, {}, /not an exact version/],
  ];
  for (const [overrides, options, pattern] of cases) {
    assert.throws(
      () => pythonRunArgs(server(overrides), { codeDir: CODE, ...options }),
      pattern,
      JSON.stringify([overrides, options]),
    );
  }
});

Deno.test("pythonRunArgs() refuses network grants without the egress proxy, never a bridge", () => {
  const s = server({ net: ["api.example.com:443"] });
  assert.throws(() => pythonRunArgs(s, { codeDir: CODE }), (error: Error) => {
    assert.ok(error instanceof GrantError);
    assert.equal(error.field, "permissions.net");
    assert.match(error.message, /egress proxy/);
    return true;
  });
  const argv = pythonRunArgs(s, {
    codeDir: CODE,
    egress: {
      network: "container:mcp-run-egress-a1",
      env: { HTTPS_PROXY: "http://127.0.0.1:3128" },
    },
  });
  assert.deepEqual(valueOf(argv, "--network"), ["container:mcp-run-egress-a1"]);
  assert.ok(valueOf(argv, "-e").includes("HTTPS_PROXY=http://127.0.0.1:3128"));
  for (const network of ["bridge", "host", "container:x --privileged"]) {
    assert.throws(
      () => pythonRunArgs(s, { codeDir: CODE, egress: { network, env: {} } }),
      /egress network/,
      network,
    );
  }
});

Deno.test("pythonPullArgs() resolves wheels only by default, and installs the hashed lock", () => {
  const common = { codeDir: "/s/code", workDir: "/s/work", user: "1000:1000" };
  const resolve = pythonPullArgs(server({ specifier: "pypi:demo[a,b]@1.0" }), {
    ...common,
    step: "resolve",
  });
  assert.deepEqual(resolve.slice(resolve.indexOf("install") + 1), [
    "--dry-run",
    "--ignore-installed",
    "--only-binary",
    ":all:",
    "--quiet",
    "--report",
    "/mcp-run-work/report.json",
    "demo[a,b]==1.0",
  ]);
  const install = pythonPullArgs(server(), { ...common, step: "install" });
  for (const flag of ["--require-hashes", "--no-deps", "--only-binary"]) {
    assert.ok(install.includes(flag), flag);
  }
  assert.deepEqual(valueOf(install, "--target"), ["/mcp-run-code/lib"]);
  assert.deepEqual(valueOf(install, "--network"), ["bridge"]);
  assert.deepEqual(valueOf(install, "--mount"), [
    "type=bind,src=/s/code,dst=/mcp-run-code",
    "type=bind,src=/s/work,dst=/mcp-run-work",
  ]);
  assert.ok(valueOf(install, "-e").includes("PIP_CONFIG_FILE=/dev/null"));
  for (const flag of ["--read-only", "--security-opt", "--cap-drop", "--pids-limit"]) {
    assert.ok(install.includes(flag), flag);
  }
  const built = pythonPullArgs(server(), { ...common, step: "install", allowBuild: true });
  assert.ok(!built.includes("--only-binary"));
  assert.ok(built.includes("--require-hashes"));
});

Deno.test("pythonDirs() keys the code folder by package and image", () => {
  const a = pythonDirs(server(), PYTHON_IMAGE, "/c");
  const b = pythonDirs(server(), "mcp-run-test/python:3.11", "/c");
  const c = pythonDirs(
    server({ specifier: "pypi:mcp-server-time@2026.10.20" }),
    PYTHON_IMAGE,
    "/c",
  );
  assert.notEqual(a.dir, b.dir);
  assert.notEqual(a.dir, c.dir);
  assert.ok(!pythonDirs(server({ name: "../x" }), PYTHON_IMAGE, "/c").dir.includes("/../"));
});

Deno.test("containerLaunchPlan() gives the docker client only its settings and declared values", () => {
  const plan = containerLaunchPlan(server({ env: ["TOKEN"], secrets: ["TOKEN"] }), {
    cacheRoot: "/c",
    nameSuffix: "s1",
    user: "1000:1000",
    source: { TOKEN: "t0ps3cret", DOCKER_HOST: "unix:///d.sock", AWS_SECRET: "no" },
  });
  assert.deepEqual(plan.env, { DOCKER_HOST: "unix:///d.sock", TOKEN: "t0ps3cret" });
  assert.ok(!plan.args.join(" ").includes("t0ps3cret"));
  assert.equal(plan.container, "mcp-run-time-s1");
  assert.ok(
    plan.args.some((a) =>
      a.startsWith(`type=bind,src=${pythonDirs(server(), PYTHON_IMAGE, "/c").code},`)
    ),
  );
});

Deno.test("pythonRunArgs() takes the egress sidecar's network and proxy variables as they are", () => {
  const egress = {
    network: egressNetwork(egressSidecarName("time", "a1")),
    env: { ...egressClientEnv() },
  };
  const argv = pythonRunArgs(server({ net: ["api.example.com:443"] }), { codeDir: CODE, egress });
  assert.deepEqual(valueOf(argv, "--network"), [egress.network]);
  for (const [name, value] of Object.entries(egress.env)) {
    assert.ok(valueOf(argv, "-e").includes(`${name}=${value}`), name);
  }
});
