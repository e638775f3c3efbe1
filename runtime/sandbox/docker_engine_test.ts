import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkDocker,
  DockerUnavailableError,
  imageExists,
  listContainers,
  removeContainer,
  runDocker,
  volumeExists,
} from "./docker_engine.ts";

/**
 * Writes a stand-in `docker` that records its arguments (one a line) and environment, prints
 * `stdout` and `stderr`, and exits with `code`. Runs `body` with its path, then cleans up.
 */
async function withFakeDocker(
  reply: { stdout?: string; stderr?: string; code?: number },
  body: (docker: string, seen: () => { args: string[]; env: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const docker = join(dir, "docker");
  const q = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  await Deno.writeTextFile(
    docker,
    [
      "#!/bin/sh",
      `for a in "$@"; do printf '%s\\n' "$a"; done > ${q(join(dir, "args"))}`,
      `env > ${q(join(dir, "env"))}`,
      `printf '%s' ${q(reply.stdout ?? "")}`,
      `printf '%s' ${q(reply.stderr ?? "")} >&2`,
      `exit ${reply.code ?? 0}`,
    ].join("\n"),
  );
  await Deno.chmod(docker, 0o755);
  try {
    await body(docker, () => ({
      args: Deno.readTextFileSync(join(dir, "args")).split("\n").slice(0, -1),
      env: Deno.readTextFileSync(join(dir, "env")),
    }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runDocker() reports a docker command that is not installed as `missing`", async () => {
  const docker = "/nonexistent/bin/docker";
  await assert.rejects(runDocker(["version"], { docker }), (error: unknown) => {
    assert.ok(error instanceof DockerUnavailableError);
    assert.equal(error.kind, "missing");
    assert.ok(error.cause instanceof Deno.errors.NotFound, "the spawn error is the cause");
    assert.match(error.message, /^Cannot use docker isolation: the "\/nonexistent\/bin\/docker"/);
    assert.match(error.message, /run a Deno server with --isolation deno \(pypi: and oci: servers/);
    return true;
  });
});

Deno.test("checkDocker() reports a missing docker command as `missing`, not `down`", async () => {
  await assert.rejects(
    checkDocker({ docker: "mcp-run-no-such-docker", env: { PATH: "/nonexistent" } }),
    (error: unknown) => error instanceof DockerUnavailableError && error.kind === "missing",
  );
});

Deno.test("runDocker() gives docker exactly the environment it is passed", async () => {
  Deno.env.set("MCP_RUN_TEST_LEAK", "1");
  try {
    await withFakeDocker({ stdout: "out", stderr: "err", code: 3 }, async (docker, seen) => {
      const out = await runDocker(["ps", "-a"], { docker, env: { DOCKER_HOST: "unix:///x" } });
      assert.deepEqual(out, { code: 3, stdout: "out", stderr: "err" });
      assert.deepEqual(seen().args, ["ps", "-a"]);
      assert.match(seen().env, /^DOCKER_HOST=unix:\/\/\/x$/m);
      assert.doesNotMatch(seen().env, /MCP_RUN_TEST_LEAK/, "the launcher's environment leaked");
    });
  } finally {
    Deno.env.delete("MCP_RUN_TEST_LEAK");
  }
});

Deno.test("checkDocker() reports an engine that does not answer as `down`, with its last words", async () => {
  const stderr =
    "warning: one\nCannot connect to the Docker daemon\nIs the docker daemon running?\n";
  await withFakeDocker({ stderr, code: 1 }, async (docker) => {
    await assert.rejects(checkDocker({ docker, env: {} }), (error: unknown) => {
      assert.ok(error instanceof DockerUnavailableError);
      assert.equal(error.kind, "down");
      assert.ok(
        error.message.includes(
          "(Cannot connect to the Docker daemon Is the docker daemon running?)",
        ),
        error.message,
      );
      assert.ok(!error.message.includes("warning: one"), "only the last two lines are kept");
      return true;
    });
  });
});

Deno.test("checkDocker() treats an empty server version as `down` even on exit 0", async () => {
  // A client without a reachable engine may print an empty server version and still exit 0.
  await withFakeDocker({ stdout: "\n" }, async (docker) => {
    await assert.rejects(
      checkDocker({ docker, env: {} }),
      (error: unknown) =>
        error instanceof DockerUnavailableError && error.kind === "down" &&
        !error.message.includes("()"),
    );
  });
});

Deno.test("checkDocker() returns the engine's version", async () => {
  await withFakeDocker({ stdout: "27.5.1\n" }, async (docker, seen) => {
    assert.equal(await checkDocker({ docker, env: {} }), "27.5.1");
    assert.deepEqual(seen().args, ["version", "--format", "{{.Server.Version}}"]);
  });
});

Deno.test("imageExists() and volumeExists() end options before a hostile name", async () => {
  await withFakeDocker({ code: 0 }, async (docker, seen) => {
    assert.equal(await imageExists("--help", { docker, env: {} }), true);
    assert.deepEqual(seen().args.slice(-2), ["--", "--help"]);
    assert.equal(await volumeExists("-v", { docker, env: {} }), true);
    assert.deepEqual(seen().args, ["volume", "inspect", "--format", "{{.Name}}", "--", "-v"]);
  });
  await withFakeDocker({ code: 1, stderr: "No such image" }, async (docker) => {
    assert.equal(await imageExists("absent:1", { docker, env: {} }), false);
    assert.equal(await volumeExists("absent", { docker, env: {} }), false);
  });
});

Deno.test("removeContainer() accepts a container that is already gone", async () => {
  await withFakeDocker(
    { code: 1, stderr: "Error response from daemon: No such container: gone\n" },
    async (docker, seen) => {
      await removeContainer("gone", { docker, env: {} });
      assert.deepEqual(seen().args, ["rm", "-f", "--", "gone"]);
    },
  );
});

Deno.test("removeContainer() throws on any other failure, with docker's message", async () => {
  await withFakeDocker({ code: 1, stderr: "permission denied\n" }, async (docker) => {
    await assert.rejects(removeContainer("c1", { docker, env: {} }), {
      message: 'Cannot remove container "c1": permission denied',
    });
  });
});

Deno.test("removeContainer() waits for a removal the engine began itself until the container is gone", async () => {
  // The engine's race: a --rm container whose process just ended is being removed already.
  const dir = await Deno.makeTempDir();
  try {
    const docker = join(dir, "docker");
    const log = join(dir, "log");
    await Deno.writeTextFile(
      docker,
      [
        "#!/bin/sh",
        `echo "$*" >> '${log}'`,
        'if [ "$1" = rm ]; then',
        "  echo 'Error response from daemon: removal of container c1 is already in progress' >&2",
        "  exit 1",
        "fi",
        // Still there for the first two looks, then gone.
        `n=$(grep -c '^container inspect' '${log}')`,
        'if [ "$n" -le 2 ]; then echo c1id; exit 0; fi',
        "echo 'Error response from daemon: No such container: c1' >&2",
        "exit 1",
      ].join("\n"),
    );
    await Deno.chmod(docker, 0o755);
    await removeContainer("c1", { docker, env: {} });
    const calls = Deno.readTextFileSync(log).trim().split("\n");
    assert.deepEqual(calls, [
      "rm -f -- c1",
      ...Array(3).fill("container inspect --format {{.Id}} -- c1"),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listContainers() filters by mcp-run's label and the given ones", async () => {
  await withFakeDocker({ stdout: "abc\n\n  def  \n" }, async (docker, seen) => {
    assert.deepEqual(await listContainers({ "mcp-run.pid": "42" }, { docker, env: {} }), [
      "abc",
      "def",
    ]);
    assert.deepEqual(seen().args, [
      "ps",
      "-a",
      "-q",
      "--no-trunc",
      "--filter",
      "label=mcp-run=1",
      "--filter",
      "label=mcp-run.pid=42",
    ]);
  });
  await withFakeDocker({ code: 1, stderr: "boom\n" }, async (docker) => {
    await assert.rejects(listContainers({}, { docker, env: {} }), {
      message: "Cannot list containers: boom",
    });
  });
});
