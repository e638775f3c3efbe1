import assert from "node:assert/strict";
import { join } from "node:path";
import { serverFixture } from "../policy/_server_fixture.ts";
import { ociPull, prepareOciServer } from "./oci_pull.ts";
import { GrantError } from "../policy/resolve.ts";
import { CacheError } from "./_pull_record.ts";
import { DockerSandbox } from "./docker_sandbox.ts";

const REF = `ghcr.io/acme/srv@sha256:${"0123456789abcdef".repeat(4)}`;
const server = serverFixture({ name: "srv", specifier: `oci:${REF}` });

/**
 * A stand-in `docker` that logs each call and answers as an engine that holds the image (or not,
 * until a `docker pull` of it).
 */
async function withFakeEngine(
  has: boolean,
  body: (
    ctx: { cacheRoot: string; docker: string; calls: () => string[]; volumes: string },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const docker = join(dir, "docker");
  const log = join(dir, "calls");
  const held = join(dir, "held");
  const volumes = join(dir, "volumes");
  if (has) await Deno.writeTextFile(held, "");
  await Deno.writeTextFile(
    docker,
    [
      "#!/bin/sh",
      `echo "$*" >> '${log}'`,
      'case "$1 $2" in',
      '  "version "*) echo 20.10.24 ;;',
      `  "image inspect") [ -e '${held}' ] || exit 1`,
      `    case "$*" in *Volumes*) cat '${volumes}' 2>/dev/null || echo null ;; *) echo sha256:0 ;; esac`,
      "    exit 0 ;;",
      `  "pull --") touch '${held}' ;;`,
      "esac",
      "exit 0",
    ].join("\n"),
  );
  await Deno.chmod(docker, 0o755);
  try {
    await body({
      cacheRoot: join(dir, "cache"),
      docker,
      volumes,
      calls: () => Deno.readTextFileSync(log).split("\n").filter(Boolean),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ociPull() pulls the image by digest, and only when the engine lacks it", async () => {
  await withFakeEngine(false, async ({ cacheRoot, docker, calls }) => {
    const options = { cacheRoot, docker, source: {}, progress: () => {} };
    await ociPull(server, options);
    assert.ok(calls().includes(`pull -- ${REF}`), calls().join("\n"));
    await ociPull(server, options);
    assert.equal(calls().filter((c) => c.startsWith("pull")).length, 1);
  });
});

Deno.test("prepareOciServer() refuses a missing image: a launch never fetches one", async () => {
  await withFakeEngine(false, async ({ cacheRoot, docker, calls }) => {
    await assert.rejects(
      () => prepareOciServer(server, { cacheRoot, docker, source: {} }),
      (error: Error) =>
        error instanceof CacheError && error.kind === "missing" &&
        error.message.includes(`docker pull ${REF}`),
    );
    assert.ok(!calls().some((c) => c.startsWith("pull")));
  });
});

Deno.test("DockerSandbox starts an oci: image present under its digest without pulling", async () => {
  await withFakeEngine(true, async ({ cacheRoot, docker, calls }) => {
    const sandbox = new DockerSandbox({ cacheRoot, docker, source: {}, nameSuffix: "s1" });
    await (await sandbox.prepare(server)).verify();
    assert.ok(
      calls().includes(`image inspect --format {{json .Config.Volumes}} -- ${REF}`),
      calls().join("\n"),
    );
    assert.ok(!calls().some((c) => c.startsWith("pull")));
    const plan = sandbox.plan(server);
    assert.equal(plan.args[plan.args.indexOf("--pull") + 1], "never");
  });
});

Deno.test("ociPull() and prepareOciServer() refuse an image that declares a VOLUME", async () => {
  await withFakeEngine(true, async ({ cacheRoot, docker, volumes }) => {
    await Deno.writeTextFile(volumes, `{"/data":{}}`);
    const options = { cacheRoot, docker, source: {}, progress: () => {} };
    const refused = (error: Error) =>
      error instanceof GrantError && /declares VOLUME \/data/.test(error.message);
    await assert.rejects(() => ociPull(server, options), refused);
    await assert.rejects(() => prepareOciServer(server, options), refused);
  });
});
