/**
 * The Python pull: in hardened pull containers with a network to the package index only, pip
 * resolves a lock with the sha256 of every distribution and installs exactly that into a fresh
 * staging folder, which is digested, recorded and swapped in whole. No server code runs.
 *
 * @module
 */
import { dirname, join } from "../_path.ts";
import { checkApproval } from "../policy/approval.ts";
import { normalizePypiName, parsePypiPackage, type PypiPackage } from "../policy/package_kind.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { withFileLock } from "./_cache_lock.ts";
import { dockerOptions, pick, randomSuffix, tlsTrust } from "./_docker_inputs.ts";
import { cacheWriteError, serverDirs } from "./cache_dirs.ts";
import { DOCKER_PULL_PROXY_VARS } from "./child_env.ts";
import type { ContainerPackageOptions } from "./container_options.ts";
import { checkDockerMounts } from "./docker_checks.ts";
import { checkDocker, type DockerCommandOptions, imageExists, runDocker } from "./docker_engine.ts";
import { chownTree, isRoot, makeStaging, pullUser } from "./_container_staging.ts";
import { launcherLabels, reapOrphans } from "./docker_orphans.ts";
import { type Egress, startEgress } from "./egress_launch.ts";
import { pythonIndexGrants } from "./_pull_egress.ts";
import { ensureEgressImage, fetchImage } from "./_fetch_image.ts";
import { removeLeftovers, swapIn } from "./pull.ts";
import { trackContainer } from "./child_guard.ts";
import { dockerContainerName } from "./docker_names.ts";
import { CacheError } from "./_pull_record.ts";
import type { PreparedLaunch } from "./sandbox.ts";
import { sha256Hex } from "./_tree_digest.ts";
import {
  chooseConsoleScript,
  consoleScripts,
  entryScript,
  type LockEntry,
  lockFromReport,
  parseLock,
} from "./python_lock.ts";
import {
  digestCode,
  pythonCodeProblem,
  type PythonPullRecord,
  readPythonRecord,
  verifyPythonCode,
} from "./python_cache.ts";
import {
  PYTHON_LIB_DIR,
  type PythonDirs,
  pythonDirs,
  pythonImageOf,
  pythonPullArgs,
} from "./python_plan.ts";

/** Index settings the pull containers get (by name) from the launcher's environment. */
export const PYTHON_PULL_VARS: readonly string[] = ["PIP_INDEX_URL", "PIP_DEFAULT_TIMEOUT"];

/** CA files the pull containers trust (mounted read-only), as pip and OpenSSL read them. */
export const PYTHON_PULL_TLS_VARS: readonly string[] = ["PIP_CERT", "SSL_CERT_FILE"];

/**
 * Installs a `pypi:` server's code into its folder in the cache (see `pythonDirs`): first a
 * resolve container writes pip's report, from which the lock (a sha256 per distribution) is
 * built here; then an install container installs the lock with `--require-hashes --no-deps`.
 * Wheels only unless `allowBuild`. The entry file, the lock and a record of every installed file
 * are written beside it. A pull whose record still verifies fetches nothing. Fetches the Python
 * image only when `pullImage` is set (the `pull` command).
 *
 * Requires `--allow-run=docker` and write access to the cache root.
 *
 * @param server A resolved `pypi:` server.
 * @param options Cache root, Python image, pull network, environment, `allowBuild`.
 * @returns The record.
 * @throws {ApprovalError} When the manifest asks for more than was approved.
 * @throws {DockerUnavailableError} When docker is missing or its engine is down.
 * @throws {CacheError} `missing` when the image is absent and `pullImage` is not set.
 * @throws {RangeError} When a distribution has no wheel and `allowBuild` is not set, or the
 *   console script to run is not clear.
 * @throws {Error} When pip fails (the tail of its output says why).
 *
 * @example
 * ```ts ignore
 * import { pythonPull } from "./python_pull.ts";
 * await pythonPull(server, { cacheRoot: "/tmp/cache", network: "bridge" });
 * ```
 */
export async function pythonPull(
  server: ResolvedServer,
  options: ContainerPackageOptions,
): Promise<PythonPullRecord> {
  checkDockerMounts(server);
  const pkg = parsePypiPackage(server.specifier);
  await checkApproval(server, options);
  const image = pythonImageOf(server, options.pythonImage);
  const dirs = pythonDirs(server, image, options.cacheRoot);
  const progress = options.progress ?? ((line: string) => console.error(line));
  const source = options.source ?? Deno.env.toObject();
  const docker = dockerOptions(options, source);
  const pullImage = options.pullImage ?? false;
  await checkDocker(docker);
  // The egress sidecar's image: the pull's own (unless a network is named), and the server's.
  if (server.net.length > 0 || options.network === undefined) {
    const egressImage = options.egressImage ?? options.image;
    await ensureEgressImage(server.name, egressImage, { ...docker, pullImage, progress });
  }
  const intact = await intactRecord(server, image, dirs);
  if (intact) return alreadyPulled(server, intact, progress);
  const hasImage = await imageExists(image, docker);
  if (!hasImage) {
    await fetchImage(image, {
      ...docker,
      pullImage,
      progress,
      missing: `The image ${image} is not present, and a launch never fetches images: run ` +
        `mcp-run pull ${server.name} (or docker pull ${image})`,
    });
  }
  try {
    await Deno.mkdir(dirname(dirs.dir), { recursive: true });
    return await withFileLock(dirs.pullLock, async () => {
      const current = await intactRecord(server, image, dirs);
      if (current) return alreadyPulled(server, current, progress);
      return await install(server, pkg, { options, image, dirs, docker, source, progress });
    }, { onWait: () => progress(`Waiting for another pull of ${server.name} to finish`) });
  } catch (error) {
    throw cacheWriteError(options.cacheRoot, error);
  }
}

async function intactRecord(
  server: ResolvedServer,
  image: string,
  dirs: PythonDirs,
): Promise<PythonPullRecord | undefined> {
  try {
    const record = await readPythonRecord(server, dirs);
    return await pythonCodeProblem(server, image, dirs, record) ? undefined : record;
  } catch {
    return undefined;
  }
}

function alreadyPulled(
  server: ResolvedServer,
  record: PythonPullRecord,
  progress: (line: string) => void,
): PythonPullRecord {
  progress(`${server.name} is already pulled: ${record.installed.length} distributions, unchanged`);
  return record;
}

/** What one install works with. */
interface InstallContext {
  options: ContainerPackageOptions;
  image: string;
  dirs: PythonDirs;
  docker: DockerCommandOptions;
  source: Record<string, string>;
  progress: (line: string) => void;
}

async function install(
  server: ResolvedServer,
  pkg: PypiPackage,
  ctx: InstallContext,
): Promise<PythonPullRecord> {
  const { dirs, progress } = ctx;
  await removeLeftovers(dirs.dir);
  const staging = `${dirs.dir}.pull-${randomSuffix()}`;
  const code = join(staging, "code");
  const work = join(staging, "work");
  let egress: Egress | undefined;
  try {
    const user = ctx.options.user ?? pullUser();
    await makeStaging([staging, code, work, join(work, "tmp")], user);
    // The pull containers' only network: the egress proxy, allowing the index alone (unless
    // the user named a network).
    egress = ctx.options.network === undefined ? await pullEgress(server, ctx) : undefined;
    const network = egress?.network ?? ctx.options.network;
    const env = egress?.env;
    const run = (step: "resolve" | "install") =>
      runPip(server, step, { ...ctx, code, work, user, network, env });
    // A lock an earlier pull recorded is installed again as it is: a re-pull gets the same code.
    let lock = await trustedLock(server, ctx.image, dirs);
    if (!lock) {
      const wheels = ctx.options.allowBuild ? "preferred" : "only";
      progress(`Resolving ${server.specifier} (wheels ${wheels})`);
      await run("resolve");
      const report = JSON.parse(await Deno.readTextFile(join(work, "report.json")));
      lock = lockFromReport(report, pkg, { allowBuild: ctx.options.allowBuild });
    }
    await Deno.writeTextFile(join(work, "requirements.lock"), lock.text);
    await Deno.writeTextFile(join(staging, "requirements.lock"), lock.text);
    progress(`Installing ${lock.dists.length} distributions, each checked against its sha256`);
    await run("install");
    const script = await writeEntry(code, pkg);
    await Deno.remove(work, { recursive: true });
    // Owned by root when mcp-run is: the containers' user can read the code and its record, and
    // change neither, nor swap the folder.
    if (isRoot()) await chownTree(staging, 0, 0);
    const record: PythonPullRecord = {
      specifier: server.specifier,
      image: ctx.image,
      script,
      lockSha256: await sha256Hex(lock.text),
      installed: lock.dists.map((d) => `${d.name}==${d.version}`),
      pulledAt: new Date().toISOString(),
      files: await digestCode(staging),
    };
    await Deno.writeTextFile(join(staging, "pull.json"), JSON.stringify(record, null, 2) + "\n");
    await swapIn(staging, dirs.dir);
    progress(`Pulled ${server.name}: ${lock.dists.length} distributions, runs ${script}`);
    return record;
  } finally {
    await egress?.stop();
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** The egress path of a pull: the index only; refusals are progress lines. */
async function pullEgress(server: ResolvedServer, ctx: InstallContext): Promise<Egress> {
  const { allow, deny } = pythonIndexGrants(ctx.source);
  return await startEgress({
    cacheRoot: ctx.options.cacheRoot,
    serverName: server.name,
    suffix: `pull${randomSuffix().slice(0, 8)}`,
    allow,
    deny,
    image: ctx.options.egressImage ?? ctx.options.image,
    labels: launcherLabels(),
    onRefusal: (r) => ctx.progress(`Pull refused ${r.host}:${r.port}: ${r.reason}`),
    ...ctx.docker,
  });
}

/**
 * The lock of an earlier pull of the same package and image, when its record vouches for it
 * (the installed files may have changed: they are installed again from it).
 */
async function trustedLock(
  server: ResolvedServer,
  image: string,
  dirs: PythonDirs,
): Promise<{ text: string; dists: LockEntry[] } | undefined> {
  try {
    const record = await readPythonRecord(server, dirs);
    const text = await Deno.readTextFile(dirs.lockFile);
    const dists = parseLock(text);
    const vouched = record.specifier === server.specifier && record.image === image &&
      await sha256Hex(text) === record.lockSha256;
    return vouched && dists ? { text, dists } : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one pull container; a failure says why, and what to do about a missing wheel. */
async function runPip(
  server: ResolvedServer,
  step: "resolve" | "install",
  ctx: InstallContext & {
    code: string;
    work: string;
    user: string;
    network?: string;
    env?: Readonly<Record<string, string>>;
  },
): Promise<void> {
  // By name, not in argv: an index URL can carry credentials. Through the egress proxy, the
  // user's own proxy variables would point elsewhere: the proxy's are given instead.
  const proxyVars = ctx.env ? [] : DOCKER_PULL_PROXY_VARS;
  const passEnv = [...proxyVars, ...PYTHON_PULL_VARS].filter((name) =>
    ctx.source[name] !== undefined
  );
  const tls = tlsTrust(ctx.source, PYTHON_PULL_TLS_VARS);
  const suffix = randomSuffix();
  const args = pythonPullArgs(server, {
    step,
    image: ctx.image,
    codeDir: ctx.code,
    workDir: ctx.work,
    network: ctx.network,
    allowBuild: ctx.options.allowBuild,
    nameSuffix: suffix,
    user: ctx.user,
    labels: launcherLabels(),
    env: { ...tls.env, ...ctx.env },
    passEnv,
    readOnlyPaths: tls.paths,
  });
  // Removed if the launcher dies first (when it guards its children), as a server's container.
  const untrack = trackContainer(dockerContainerName(server.name, suffix), ctx.docker.docker);
  const out = await runDocker(args, {
    ...ctx.docker,
    env: { ...ctx.docker.env, ...pick(ctx.source, passEnv) },
  }).finally(untrack);
  if (out.code === 0) return;
  const tail = `${out.stderr}\n${out.stdout}`.split("\n").filter((l) => l.trim()).slice(-6);
  if (!ctx.options.allowBuild && tail.some((l) => /No matching distribution found/.test(l))) {
    throw new RangeError(
      `Cannot pull ${server.specifier}: pip found no wheel for it or one of its dependencies ` +
        `(pip: ${tail.at(-1)?.trim()}). A version published only as a source distribution ` +
        "runs its code at install time to build: pass --allow-build to build it in the pull " +
        "container (it never runs on this machine), or check the version exists",
    );
  }
  throw new Error(
    `Cannot pull ${server.specifier}: pip (${step}) exited with code ${out.code} in the pull ` +
      `container\n${tail.join("\n")}`,
  );
}

/** Finds the installed package's console scripts and writes the entry file for the chosen one. */
async function writeEntry(code: string, pkg: PypiPackage): Promise<string> {
  const lib = join(code, "lib");
  const wanted = normalizePypiName(pkg.name);
  let text = "";
  for (const entry of Deno.readDirSync(lib)) {
    if (!entry.isDirectory || !entry.name.endsWith(".dist-info")) continue;
    const metadata = await Deno.readTextFile(join(lib, entry.name, "METADATA")).catch(() => "");
    const name = /^Name:\s*(.+)$/m.exec(metadata)?.[1].trim() ?? "";
    if (normalizePypiName(name) !== wanted) continue;
    text = await Deno.readTextFile(join(lib, entry.name, "entry_points.txt")).catch(() => "");
    break;
  }
  const scripts = consoleScripts(text);
  const script = chooseConsoleScript(scripts, pkg);
  await Deno.writeTextFile(
    join(code, "entry.py"),
    entryScript(script, scripts[script], PYTHON_LIB_DIR),
    { mode: 0o644 },
  );
  return script;
}

/**
 * Makes a `pypi:` server ready to start: approval, a pull when it was never pulled (if
 * allowed), and the check of its code folder against the record, started here and awaited by
 * `verify`.
 *
 * @param server A resolved `pypi:` server.
 * @param options Cache root, Python image, environment, pull policy.
 * @returns The pending check.
 * @throws {CacheError} `missing` when never pulled and auto-pull is off; (from `verify`)
 *   `tampered` when the code changed since it was pulled.
 *
 * @example
 * ```ts ignore
 * import { preparePythonServer } from "./python_pull.ts";
 * const { verify } = await preparePythonServer(server, { cacheRoot: "/tmp/cache" });
 * await verify();
 * ```
 */
export async function preparePythonServer(
  server: ResolvedServer,
  options: ContainerPackageOptions,
): Promise<PreparedLaunch> {
  checkDockerMounts(server);
  const image = pythonImageOf(server, options.pythonImage);
  const dirs = pythonDirs(server, image, options.cacheRoot);
  await Promise.all([checkApproval(server, options), options.precheck]);
  await Deno.mkdir(serverDirs(server.name, server.specifier, options.cacheRoot).cwd, {
    recursive: true,
  });
  let pulled = true;
  try {
    await readPythonRecord(server, dirs);
  } catch (error) {
    if (!(error instanceof CacheError) || error.kind !== "missing") throw error;
    pulled = false;
  }
  if (!pulled) {
    if (options.autoPull === false) {
      throw new CacheError(
        "missing",
        `"${server.name}" (${server.specifier}) is not pulled yet: run mcp-run pull ` +
          `${server.name} --isolation docker`,
      );
    }
    const reaping = reapOrphans(dockerOptions(options, options.source ?? Deno.env.toObject()));
    try {
      await pythonPull(server, { ...options, pullImage: false });
    } finally {
      await reaping;
    }
  }
  // Python has no lockfile check of its own at start: the code is checked before the container
  // starts, not alongside it, so changed code never runs. The engine and the egress sidecar's
  // image are checked meanwhile, for a clear error instead of docker's.
  const docker = dockerOptions(options, options.source ?? Deno.env.toObject());
  await Promise.all([
    verifyPythonCode(server, image, dirs),
    checkDocker(docker).then(() =>
      server.net.length > 0
        ? ensureEgressImage(server.name, options.egressImage ?? options.image, {
          ...docker,
          pullImage: false,
          progress: () => {},
        })
        : undefined
    ),
  ]);
  return { verify: () => Promise.resolve() };
}
