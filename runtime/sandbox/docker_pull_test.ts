import assert from "node:assert/strict";
import { join } from "node:path";
import { prepareDockerServer } from "./docker_pull.ts";
import { dockerVolumeName } from "./docker_names.ts";
import { orphanRemoval } from "./docker_orphans.ts";
import { CacheError } from "./pull.ts";
import { DockerUnavailableError } from "./docker_engine.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { serverFixture } from "../policy/_server_fixture.ts";

const IMAGE = "example/deno:1.0.0";

function server(overrides: Partial<ResolvedServer> = {}): ResolvedServer {
  return serverFixture({ name: "probe", specifier: "npm:probe-server@1.0.0", ...overrides });
}

/** The options every test prepares with: the stand-in engine, the image, approval given. */
function prepareOptions(ctx: { cacheRoot: string; docker: string }) {
  return { cacheRoot: ctx.cacheRoot, docker: ctx.docker, image: IMAGE, source: {}, approve: true };
}

/**
 * A stand-in `docker` that logs each call (its arguments on one line) and answers as an engine
 * that has the image and a labelled code volume; `docker run` (a pull container) succeeds.
 * `engine: "down"` answers every call as a client whose engine does not run; `"no volume"` as
 * an engine that lost the code volume.
 */
async function withFakeEngine(
  body: (ctx: { cacheRoot: string; docker: string; calls: () => string[] }) => Promise<void>,
  engine: "up" | "down" | "no volume" = "up",
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const docker = join(dir, "docker");
  const log = join(dir, "calls");
  await Deno.writeTextFile(
    docker,
    [
      "#!/bin/sh",
      `echo "$*" >> '${log}'`,
      ...(engine === "down" ? ["echo 'Cannot connect to the Docker daemon' >&2", "exit 1"] : []),
      ...(engine === "no volume" ? ['[ "$1 $2" = "volume inspect" ] && exit 1'] : []),
      'case "$1 $2" in',
      '  "version "*) echo 20.10.24 ;;',
      '  "volume inspect") echo 1 ;;',
      '  "image inspect") echo sha256:0 ;;',
      "esac",
      "exit 0",
    ].join("\n"),
  );
  await Deno.chmod(docker, 0o755);
  try {
    await body({
      cacheRoot: join(dir, "cache"),
      docker,
      calls: () => {
        try {
          return Deno.readTextFileSync(log).split("\n").filter(Boolean);
        } catch {
          return [];
        }
      },
    });
    await orphanRemoval();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes a pull record on the host, as a pull of `specifier` would have. */
function writeRecord(cacheRoot: string, s: ResolvedServer, specifier: string): void {
  const volume = dockerVolumeName(s, { image: IMAGE });
  Deno.mkdirSync(join(cacheRoot, "docker"), { recursive: true });
  Deno.writeTextFileSync(
    join(cacheRoot, "docker", `${volume}.json`),
    JSON.stringify({ volume, image: IMAGE, specifier, pulledAt: new Date().toISOString() }),
  );
}

Deno.test("prepareDockerServer() refuses a pull record made for another specifier", async () => {
  await withFakeEngine(async (engine) => {
    const { cacheRoot, calls } = engine;
    const s = server();
    // The record names the same volume and image, but another package version.
    writeRecord(cacheRoot, s, "npm:probe-server@0.9.0");
    const options = prepareOptions(engine);
    await assert.rejects(
      prepareDockerServer(s, { ...options, autoPull: false }),
      (error: unknown) => error instanceof CacheError && error.kind === "missing",
    );
    // With auto-pull, the code is pulled again for the right specifier before anything starts.
    const { verify } = await prepareDockerServer(s, { ...options, progress: () => {} });
    await verify();
    assert.ok(
      calls().some((c) => c.startsWith("run ") && c.endsWith(s.specifier)),
      `a pull container ran: ${calls().join(" | ")}`,
    );
  });
});

Deno.test("prepareDockerServer() of a server never pulled asks the engine once, one volume inspect", async () => {
  await withFakeEngine(async (engine) => {
    const { calls } = engine;
    const s = server();
    const { verify } = await prepareDockerServer(s, {
      ...prepareOptions(engine),
      progress: () => {},
    });
    await verify();
    const asked = (prefix: string) => calls().filter((c) => c.startsWith(prefix)).length;
    assert.equal(asked("version "), 1, calls().join(" | "));
    assert.equal(asked("volume inspect "), 1, calls().join(" | "));
    assert.equal(asked("run "), 1, "the code was pulled");
  });
});

Deno.test("prepareDockerServer() trusts the record of the same specifier and image", async () => {
  await withFakeEngine(async (engine) => {
    const { cacheRoot, calls } = engine;
    const s = server();
    writeRecord(cacheRoot, s, s.specifier);
    const { verify } = await prepareDockerServer(s, { ...prepareOptions(engine), autoPull: false });
    await verify();
    assert.ok(!calls().some((c) => c.startsWith("run ")), "nothing was pulled");
    assert.ok(calls().some((c) => c.startsWith("volume inspect ")), "the volume was checked");
  });
});

Deno.test("prepareDockerServer() verify keeps the pull record while the engine is down", async () => {
  for (const engine of ["down", "no volume"] as const) {
    await withFakeEngine(async (fake) => {
      const { cacheRoot } = fake;
      const s = server();
      writeRecord(cacheRoot, s, s.specifier);
      const record = join(cacheRoot, "docker", `${dockerVolumeName(s, { image: IMAGE })}.json`);
      const { verify } = await prepareDockerServer(s, { ...prepareOptions(fake), autoPull: false });
      if (engine === "down") {
        await assert.rejects(verify(), (e: unknown) => e instanceof DockerUnavailableError);
        assert.ok(Deno.statSync(record).isFile, "the record outlives an engine that is down");
      } else {
        // Positive control: a volume that is gone takes its record with it.
        await assert.rejects(verify(), (e: unknown) => e instanceof CacheError);
        assert.throws(() => Deno.statSync(record), Deno.errors.NotFound);
      }
    }, engine);
  }
});
