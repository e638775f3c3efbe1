import assert from "node:assert/strict";
import { parse } from "yaml";
import { serverFixture } from "../policy/_server_fixture.ts";
import { lockdownArgs } from "../sandbox/_container_hardening.ts";
import { DOCKER_LIMITS } from "../sandbox/docker_checks.ts";
import { CONTAINER_USER } from "../sandbox/docker_names.ts";
import { composeFile, composeHardening } from "./compose.ts";

const BASE = { image: "example/mcp-run:0.1.0", tokenFile: "/etc/mcp-run/token" };

// deno-lint-ignore no-explicit-any
function service(text: string): any {
  return parse(text).services["mcp-run"];
}

Deno.test("composeFile() gives the service docker mode's hardening", () => {
  const svc = service(composeFile(serverFixture({ name: "time" }), BASE));
  assert.equal(svc.read_only, true);
  assert.deepEqual(svc.cap_drop, ["ALL"]);
  assert.deepEqual(svc.security_opt, ["no-new-privileges"]);
  assert.equal(svc.user, CONTAINER_USER);
  // The whole container: four sessions' server processes and serve itself.
  assert.equal(svc.pids_limit, 5 * 256);
  assert.equal(svc.mem_limit, "5120m");
  assert.equal(svc.memswap_limit, "5120m");
  assert.equal(svc.cpus, DOCKER_LIMITS.cpus);
  assert.deepEqual(svc.ulimits, {
    nofile: { soft: DOCKER_LIMITS.nofile, hard: DOCKER_LIMITS.nofile },
  });
  assert.deepEqual(svc.tmpfs, [`/tmp:rw,noexec,nosuid,nodev,size=${DOCKER_LIMITS.tmpfsSize}`]);
  assert.equal(svc.privileged, undefined);
});

Deno.test("composeHardening() translates every lock-down flag and refuses unknown ones", () => {
  const keys = composeHardening(lockdownArgs(CONTAINER_USER, DOCKER_LIMITS));
  assert.equal(Object.keys(keys).length, 10);
  assert.throws(() => composeHardening(["--privileged"]), /teach composeHardening/);
  assert.throws(() => composeHardening(["--ulimit", "nofile=lots"]), RangeError);
});

Deno.test("composeFile() runs serve with a token secret, published on loopback", () => {
  const server = serverFixture({ name: "memory", params: { dir: ["/srv/notes"] } });
  const doc = parse(
    composeFile(server, { ...BASE, port: 9000, allowedHosts: ["mcp.example.com"] }),
  );
  const svc = doc.services["mcp-run"];
  assert.deepEqual(svc.entrypoint, ["mcp-run"]);
  assert.deepEqual(svc.command, [
    "serve",
    "memory",
    "-p",
    "dir=/srv/notes",
    "--host",
    "0.0.0.0",
    "--port",
    "9000",
    "--allowed-host",
    "mcp.example.com",
    "--max-sessions",
    "4",
    "--offline",
    "--token-file",
    "/run/secrets/mcp-run-token",
  ]);
  assert.deepEqual(svc.ports, ["127.0.0.1:9000:9000"]);
  assert.deepEqual(svc.secrets, ["mcp-run-token"]);
  assert.deepEqual(doc.secrets, { "mcp-run-token": { file: "/etc/mcp-run/token" } });
});

Deno.test("composeFile() passes secrets by name and never writes a value", () => {
  const server = serverFixture({
    env: ["GITHUB_TOKEN", "LOG_LEVEL", "AWS_*"],
    secrets: ["GITHUB_TOKEN"],
    envValues: { LOG_LEVEL: "debug" },
  });
  const text = composeFile(server, BASE);
  const svc = service(text);
  assert.deepEqual(svc.environment, ["HOME=/state", "MCP_RUN_CACHE=/state/cache", "GITHUB_TOKEN"]);
  assert.doesNotMatch(text, /GITHUB_TOKEN=/);
});

Deno.test("composeFile() mounts grants at their paths, reads read-only, and checks them", () => {
  const server = serverFixture({ read: ["/srv/docs", "/srv/notes"], write: ["/srv/notes"] });
  assert.deepEqual(service(composeFile(server, BASE)).volumes, [
    { type: "volume", source: "state", target: "/state" },
    { type: "bind", source: "/srv/docs", target: "/srv/docs", read_only: true },
    { type: "bind", source: "/srv/notes", target: "/srv/notes", read_only: false },
  ]);
  for (const path of ["/", "/var/run/docker.sock", "/proc/self", "/state", "relative"]) {
    assert.throws(() => composeFile(serverFixture({ read: [path] }), BASE), RangeError, path);
  }
});

Deno.test("composeFile() escapes $ so compose substitutes nothing", () => {
  const server = serverFixture({ params: { q: ["${HOME}$x"] } });
  const text = composeFile(server, BASE);
  assert.match(text, /q=\$\$\{HOME\}\$\$x/);
});

Deno.test("composeFile() refuses unpinned images, root, bad limits and hostile values", () => {
  const server = serverFixture();
  assert.throws(() => composeFile(server, { ...BASE, image: "example/mcp-run" }), RangeError);
  assert.throws(
    () => composeFile(server, { ...BASE, image: "example/mcp-run:latest" }),
    RangeError,
  );
  assert.throws(() => composeFile(server, { ...BASE, user: "0:0" }), /never run as root/);
  assert.throws(() => composeFile(server, { ...BASE, memory: "lots" }), RangeError);
  assert.throws(() => composeFile(server, { ...BASE, publishAddress: "0.0.0.0:80" }), RangeError);
  assert.throws(() => composeFile(server, { ...BASE, tokenFile: "/a\nb" }), RangeError);
  assert.throws(() => composeFile(serverFixture({ env: ["A-B"] }), BASE), RangeError);
});

Deno.test("composeFile() runs OAuth with the passphrase as a secret in its state root", () => {
  const text = composeFile(serverFixture({ name: "time" }), {
    image: BASE.image,
    auth: "oauth",
    publicUrl: "https://mcp.example.com/mcp",
    passphraseFile: "/home/me/.local/state/mcp-run/passphrase",
  });
  const file = parse(text);
  const svc = file.services["mcp-run"];
  assert.deepEqual(svc.command.slice(-6), [
    "--auth",
    "oauth",
    "--public-url",
    "https://mcp.example.com/mcp",
    "--state-dir",
    "/state",
  ]);
  assert.deepEqual(svc.secrets, [{ source: "mcp-run-passphrase", target: "/state/passphrase" }]);
  assert.deepEqual(file.secrets, {
    "mcp-run-passphrase": { file: "/home/me/.local/state/mcp-run/passphrase" },
  });
  assert.doesNotMatch(text, /token/);
  assert.throws(
    () =>
      composeFile(serverFixture(), {
        image: BASE.image,
        auth: "oauth",
        publicUrl: "https://x/mcp",
      }),
    /passphrase file/,
  );
});

Deno.test("composeFile() needs a token, OAuth or --public", () => {
  assert.throws(
    () => composeFile(serverFixture(), { image: BASE.image }),
    /without authentication/,
  );
  const svc = service(
    composeFile(serverFixture(), { image: BASE.image, public: true, tools: ["search"] }),
  );
  assert.deepEqual(svc.command.slice(-6), [
    "--tools",
    "search",
    "--max-sessions",
    "4",
    "--offline",
    "--public",
  ]);
  assert.equal(svc.secrets, undefined);
  assert.throws(
    () => composeFile(serverFixture(), { ...BASE, public: true }),
    /--public serves without authentication/,
  );
});

Deno.test("composeFile() starts serve offline once a pull service filled the cache", () => {
  const server = serverFixture({
    name: "memory",
    params: { dir: ["/srv/notes"] },
    write: ["/srv/notes"],
    env: ["GITHUB_TOKEN"],
    secrets: ["GITHUB_TOKEN"],
  });
  const doc = parse(composeFile(server, BASE));
  const pull = doc.services.pull;
  const svc = doc.services["mcp-run"];
  assert.deepEqual(svc.depends_on, { pull: { condition: "service_completed_successfully" } });
  assert.ok(svc.command.includes("--offline"));
  assert.deepEqual(pull.command, ["pull", "memory", "-p", "dir=/srv/notes"]);
  assert.equal(pull.image, svc.image);
  assert.equal(pull.restart, undefined); // never restarted: it runs once per start
  // Same hardening; no secret, port or grant reaches the pull: only the state volume.
  for (const key of ["user", "read_only", "cap_drop", "security_opt", "mem_limit", "pids_limit"]) {
    assert.deepEqual(pull[key], svc[key], key);
  }
  assert.deepEqual(pull.environment, ["HOME=/state", "MCP_RUN_CACHE=/state/cache"]);
  assert.equal(pull.ports, undefined);
  assert.equal(pull.secrets, undefined);
  assert.deepEqual(pull.volumes, [{ type: "volume", source: "state", target: "/state" }]);
});

Deno.test("composeFile() refuses gVisor isolation, naming the targets that run it", () => {
  const server = serverFixture({ name: "time" });
  assert.throws(
    () => composeFile(server, { ...BASE, isolation: "gvisor", gvisorRuntime: "runsc-net" }),
    (error: Error) =>
      error instanceof RangeError && /Cannot deploy to compose under gVisor/.test(error.message) &&
      /--target systemd --isolation gvisor/.test(error.message),
  );
  // Positive control: without gVisor, a service with no runtime key.
  assert.equal(service(composeFile(server, { ...BASE, isolation: "deno" })).runtime, undefined);
});
