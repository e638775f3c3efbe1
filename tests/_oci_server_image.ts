/**
 * The OCI server of the catalogue tests: a local equivalent of Docker's `mcp/time` image.
 *
 * The real image is Docker's build of the reference time server, `mcp-server-time` from PyPI,
 * pinned upstream as {@linkcode UPSTREAM_IMAGE} (the digest docker/mcp-gateway's own tests pull).
 * No registry but the package indexes is reachable here, so the tests build the same thing from
 * the same packages: the pinned wheels of tests/testdata/oci/mcp_server_time.txt (every
 * distribution with its sha256, wheels only) installed by the host's pip into a folder, copied
 * into a container of the Python stand-in image ({@linkcode PYTHON_IMAGE}), committed with the
 * upstream entry point (`mcp-server-time`). No `docker build`, nothing pulled from Docker Hub.
 *
 * {@linkcode buildEvilServerImage} does the same for the malicious fixture server
 * (tests/testdata/python/evil_server.py), so the `oci:` kind's refusals can be proven with it.
 *
 * Builds are cached by a label (what the image was built from and the base image's id), so test
 * files that all need an image build it once; a lock file serialises concurrent builds. The
 * images stay, as the stand-ins do; the registry references the tests pull are removed by them.
 *
 * Requires `--allow-run=docker,pip`, `--allow-read`, `--allow-write` (temp folders) and pip's
 * access to PyPI on the first build.
 *
 * @module
 */
import { PYTHON_IMAGE } from "./_docker.ts";
import { join } from "node:path";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { type OciRegistry, pushImage } from "./oci_registry.ts";

/** The vendor's image this stands in for: Docker's `mcp/time`, by digest. */
export const UPSTREAM_IMAGE =
  "mcp/time@sha256:9c46a918633fb474bf8035e3ee90ebac6bcf2b18ccb00679ac4c179cba0ebfcf";

/** The Python stand-in the image is built on (see tests/_docker.ts). */
export { PYTHON_IMAGE };

/** The local tag of the built image. */
export const TIME_SERVER_TAG = "mcp-run-test/mcp-time:2026.10.19";

/** The label that says which lock and base image a built image came from. */
const LABEL = "mcp-run.oci-server";
// What `ldd` lists for the lock's shared objects besides libc (found on the host).
const RUNTIME_LIBS = ["libgcc_s.so.1", "libdl.so.2", "libpthread.so.0", "librt.so.1"];
const LOCK_FILE = new URL("./testdata/oci/mcp_server_time.txt", import.meta.url).pathname;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function docker(args: string[], what: string): Promise<string> {
  const out = await runDocker(args);
  if (out.code !== 0) throw new Error(`Cannot ${what}: docker said ${out.stderr.trim()}`);
  return out.stdout.trim();
}

/** What an image must carry to be reused: what it was built from and the base image's id. */
async function wantedLabel(what: string): Promise<string> {
  const base = await docker(
    ["image", "inspect", "--format", "{{.Id}}", PYTHON_IMAGE],
    `find the Python stand-in ${PYTHON_IMAGE} (run tools/docker_setup.sh)`,
  );
  return `${what},base=${base.slice(7, 19)}`;
}

async function installWheels(target: string): Promise<void> {
  // The host's Python is the one the stand-in image carries (same version and libc), so pip's
  // own platform tags pick the wheels the image can load.
  const out = await new Deno.Command("pip", {
    args: [
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "--no-deps",
      "--only-binary",
      ":all:",
      "--require-hashes",
      "--target",
      target,
      "-r",
      LOCK_FILE,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot install the pinned wheels of ${LOCK_FILE}: pip said ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
}

async function build(label: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-run-oci-time-" });
  const container = `mcp-run-build-time-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await installWheels(join(dir, "app"));
    // pip wrote console scripts with the host's interpreter path; the image gets its own.
    await Deno.remove(join(dir, "app", "bin"), { recursive: true }).catch(() => {});
    const script = join(dir, "mcp-server-time");
    await Deno.writeTextFile(
      script,
      "#!/usr/local/bin/python3\nimport sys\nfrom mcp_server_time import main\nsys.exit(main())\n",
    );
    await Deno.chmod(script, 0o755);
    await docker(["create", "--name", container, PYTHON_IMAGE], "create the build container");
    await docker(["cp", join(dir, "app"), `${container}:/app`], "copy the packages in");
    await docker(["cp", script, `${container}:/usr/local/bin/mcp-server-time`], "copy the script");
    // Compiled wheels (pydantic_core, rpds-py, cryptography: Rust) link these, which the slim
    // image has and the stand-in lacks; the host's match the libc the stand-in was made from.
    for (const lib of RUNTIME_LIBS) {
      await docker(
        ["cp", `/lib/x86_64-linux-gnu/${lib}`, `${container}:/lib/x86_64-linux-gnu/`],
        `copy ${lib} in`,
      );
    }
    await docker([
      "commit",
      "--change",
      "ENV PYTHONPATH=/app",
      "--change",
      'ENTRYPOINT ["mcp-server-time"]',
      "--change",
      "CMD []",
      "--change",
      `LABEL ${LABEL}="${label}"`,
      container,
      TIME_SERVER_TAG,
    ], "commit the image");
  } finally {
    await runDocker(["rm", "-f", container]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Builds the local equivalent of {@linkcode UPSTREAM_IMAGE} as {@linkcode TIME_SERVER_TAG},
 * unless an image built from the same lock and base image is already there.
 *
 * @returns The local tag.
 * @throws {Error} If the Python stand-in is missing, pip cannot install the lock, or docker
 *   fails; the message says which.
 * @example
 * ```ts ignore
 * const tag = await buildTimeServerImage();
 * // docker run -i --rm --network none mcp-run-test/mcp-time:2026.10.19
 * ```
 */
export async function buildTimeServerImage(): Promise<string> {
  const lock = await sha256Hex(await Deno.readFile(LOCK_FILE));
  return await cachedBuild(TIME_SERVER_TAG, `lock-sha256=${lock.slice(0, 16)}`, build);
}

/** Builds `tag` unless it carries `label` (plus the base image's id); one build at a time. */
async function cachedBuild(
  tag: string,
  what: string,
  buildImage: (label: string) => Promise<void>,
): Promise<string> {
  const label = await wantedLabel(what);
  const current = async (): Promise<boolean> =>
    (await runDocker(["image", "inspect", "--format", `{{index .Config.Labels "${LABEL}"}}`, tag]))
      .stdout.trim() === label;
  if (await current()) return tag;
  const lock = await Deno.open(join(Deno.env.get("TMPDIR") ?? "/tmp", "mcp-run-oci-build.lock"), {
    create: true,
    write: true,
  });
  try {
    await lock.lock(true);
    if (!await current()) await buildImage(label);
  } finally {
    lock.close();
  }
  return tag;
}

/**
 * Builds (or reuses) the time server image and pushes it to a test registry as `mcp/time`, so
 * that a test can name it the way a user names the real one: by digest.
 *
 * @param registry A registry from {@linkcode ./oci_registry.ts}'s `startOciRegistry()`.
 * @returns `127.0.0.1:PORT/mcp/time@sha256:…`, for an `oci:` package.
 * @throws {Error} If building or pushing fails.
 * @example
 * ```ts ignore
 * const registry = await startOciRegistry();
 * const ref = await publishTimeServerImage(registry);
 * const pkg = `oci:${ref}`;
 * ```
 */
export async function publishTimeServerImage(registry: OciRegistry): Promise<string> {
  return await pushImage(registry, await buildTimeServerImage(), { name: "mcp/time" });
}

/** The local tag of the malicious fixture server's image. */
export const EVIL_SERVER_TAG = "mcp-run-test/evil-server:0.1.0";
const EVIL_SERVER = new URL("./testdata/python/evil_server.py", import.meta.url).pathname;

/**
 * Builds (or reuses) an image of the malicious fixture server, tests/testdata/python/
 * evil_server.py, on the Python stand-in: `/app/evil_server.py`, entry point
 * `python3 /app/evil_server.py`. It proves the `oci:` kind's refusals as the wheel proves the
 * `pypi:` kind's.
 *
 * @returns {@linkcode EVIL_SERVER_TAG}.
 * @throws {Error} If the Python stand-in is missing or docker fails.
 * @example
 * ```ts ignore
 * const tag = await buildEvilServerImage();
 * ```
 */
export async function buildEvilServerImage(): Promise<string> {
  const source = await sha256Hex(await Deno.readFile(EVIL_SERVER));
  return await cachedBuild(
    EVIL_SERVER_TAG,
    `source-sha256=${source.slice(0, 16)}`,
    async (label) => {
      const container = `mcp-run-build-evil-${crypto.randomUUID().slice(0, 8)}`;
      const dir = await Deno.makeTempDir({ prefix: "mcp-run-oci-evil-" });
      try {
        await Deno.mkdir(join(dir, "app"), { mode: 0o755 });
        await Deno.copyFile(EVIL_SERVER, join(dir, "app", "evil_server.py"));
        await Deno.chmod(join(dir, "app", "evil_server.py"), 0o644);
        await docker(["create", "--name", container, PYTHON_IMAGE], "create the build container");
        await docker(["cp", join(dir, "app"), `${container}:/app`], "copy the server in");
        await docker([
          "commit",
          "--change",
          'ENTRYPOINT ["python3", "/app/evil_server.py"]',
          "--change",
          "CMD []",
          "--change",
          `LABEL ${LABEL}="${label}"`,
          container,
          EVIL_SERVER_TAG,
        ], "commit the image");
      } finally {
        await runDocker(["rm", "-f", container]);
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  );
}

/**
 * Builds (or reuses) the malicious fixture server's image and pushes it to a test registry as
 * `tests/evil-server`.
 *
 * @param registry A registry from {@linkcode ./oci_registry.ts}'s `startOciRegistry()`.
 * @returns `127.0.0.1:PORT/tests/evil-server@sha256:…`, for an `oci:` package.
 * @throws {Error} If building or pushing fails.
 * @example
 * ```ts ignore
 * const ref = await publishEvilServerImage(await startOciRegistry());
 * ```
 */
export async function publishEvilServerImage(registry: OciRegistry): Promise<string> {
  return await pushImage(registry, await buildEvilServerImage(), { name: "tests/evil-server" });
}
