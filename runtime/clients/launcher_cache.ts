/**
 * Which mcp-run a `launcher` client entry starts, and caching it (with a lockfile, in a
 * `DENO_DIR` of its own) when the entry is written, so the entry starts offline and cannot be
 * steered by the client's environment.
 *
 * @module
 */
import { dirname, fileURLToPath as fromFileUrl, isAbsolute, join, resolve } from "../_path.ts";
import { PULL_VARS } from "../sandbox/child_env.ts";
import type { Manifest } from "../policy/manifest.ts";
import { DEFAULT_NPM_REGISTRY } from "../policy/package_dir.ts";
import { sha256Hex } from "../sandbox/_tree_digest.ts";
import { writeAtomic } from "./_atomic_file.ts";
import { type CachedLauncher, DEFAULT_JSR_URL, LAUNCHER_PACKAGE } from "./launcher_command.ts";

/** An exact JSR specifier: `jsr:@scope/name@1.2.3[/export]`. */
const PINNED_JSR = /^jsr:@[a-z0-9-]+\/[a-z0-9-]+@\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\/[\w./-]*)?$/;

/** Options for {@link resolveLauncher}. */
export interface ResolveLauncherOptions {
  /**
   * `--launcher`: a pinned `jsr:@sandboxed/mcp-run@x.y.z/cli`, or a checkout (its folder or
   * its CLI file). Default: the mcp-run that is running (its checkout, or its JSR version).
   */
  launcher?: string;
  /** mcp-run's cache root, absolute: the launcher is cached under `launcher/` in it. */
  cacheRoot: string;
  /** Registry mirrors (`JSR_URL`, `NPM_CONFIG_REGISTRY`) the launcher is fetched from. */
  registries?: Record<string, string>;
  /** Where this module runs from (default `import.meta.url`), to find the running mcp-run. */
  self?: string;
}

/**
 * Settles which mcp-run a launcher entry runs and where its pinned cache lives. A checkout
 * runs its CLI file with its own `deno.json`; a JSR launcher must name an exact version.
 * Reads the file system only to find a checkout's `deno.json`.
 *
 * @param options The `--launcher` value, cache root and mirrors.
 * @returns The launcher (not cached yet: see {@link cacheLauncher}).
 * @throws {RangeError} When a `jsr:` launcher has no exact version, or the value is neither a
 *   `jsr:` specifier nor a path.
 * @throws {Deno.errors.NotFound} When a checkout path does not exist or has no `deno.json`.
 * @example
 * ```ts
 * import { resolveLauncher } from "./launcher_cache.ts";
 * const launcher = await resolveLauncher({
 *   launcher: "jsr:@sandboxed/mcp-run@0.1.0/cli",
 *   cacheRoot: "/c",
 * });
 * console.log(launcher.module, launcher.registries.JSR_URL);
 * // jsr:@sandboxed/mcp-run@0.1.0/cli https://jsr.io/
 * ```
 */
export async function resolveLauncher(options: ResolveLauncherOptions): Promise<CachedLauncher> {
  const self = options.self ?? import.meta.url;
  let jsrUrl = options.registries?.JSR_URL;
  let module: string;
  let config: string | undefined;
  const given = options.launcher;
  if (given === undefined) {
    if (self.startsWith("file:")) {
      module = fromFileUrl(new URL("../cli.ts", self));
      config = await findConfig(module);
    } else {
      // Running from a JSR registry: pin the running version, fetched from the same registry.
      const match = /^(.*\/)(@[^/]+\/[^/]+)\/([^/]+)\/runtime\/clients\/[^/]+$/.exec(self);
      if (match === null) {
        throw new RangeError(
          `Cannot tell which mcp-run runs from "${self}": pass --launcher with a checkout or a ` +
            `pinned jsr:${LAUNCHER_PACKAGE}@x.y.z/cli`,
        );
      }
      module = `jsr:${match[2]}@${match[3]}/cli`;
      jsrUrl ??= match[1];
    }
  } else if (given.startsWith("jsr:")) {
    if (!PINNED_JSR.test(given)) {
      throw new RangeError(
        `Cannot use "${given}" as the launcher: pin an exact version, e.g. ` +
          `jsr:${LAUNCHER_PACKAGE}@0.1.0/cli, so the entry always starts the same code`,
      );
    }
    module = given;
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(given)) {
    throw new RangeError(
      `Cannot use "${given}" as the launcher: give a checkout's folder or CLI file, or a ` +
        `pinned jsr:${LAUNCHER_PACKAGE}@x.y.z/cli`,
    );
  } else {
    module = resolve(given);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(module);
    } catch (error) {
      throw new Deno.errors.NotFound(
        `Cannot use "${given}" as the launcher: no such file or folder`,
        { cause: error },
      );
    }
    if (info.isDirectory) module = join(module, "runtime", "cli.ts");
    module = await Deno.realPath(module).catch((error) => {
      throw new Deno.errors.NotFound(
        `Cannot use "${given}" as the launcher: it has no runtime/cli.ts; give its CLI file`,
        { cause: error },
      );
    });
    config = await findConfig(module);
  }
  const registries = {
    JSR_URL: withSlash(jsrUrl ?? DEFAULT_JSR_URL),
    NPM_CONFIG_REGISTRY: withSlash(options.registries?.NPM_CONFIG_REGISTRY ?? DEFAULT_NPM_REGISTRY),
  };
  // Twelve hex digits of SHA-256 tell launchers apart; the folder name stays short.
  const key = (await sha256Hex(JSON.stringify([module, config ?? null, registries]))).slice(0, 12);
  const version = /@(\d[^/]*)/.exec(module.slice(4))?.[1];
  const dir = join(
    options.cacheRoot,
    "launcher",
    `${config ? "checkout" : `mcp-run@${version}`}-${key}`,
  );
  return {
    module,
    config,
    dir,
    lockFile: join(dir, "deno.lock"),
    denoDir: join(dir, "deno"),
    registries,
    manifests: config ? undefined : join(dir, "manifests"),
  };
}

/** Options for {@link cacheLauncher}. */
export interface CacheLauncherOptions {
  /** The Deno binary (default: the running one). */
  deno?: string;
  /** mcp-run's environment: TLS and proxy settings are taken from it, registries never. */
  source?: Record<string, string>;
  /** The manifest to save for a registry-name target (JSR launchers read no registry). */
  manifest?: Manifest;
  /** Progress messages. */
  progress?: (text: string) => void;
}

/**
 * Caches a launcher: `deno cache` of its module into its own `DENO_DIR`, recording a lockfile
 * (a checkout's own `deno.lock` seeds it), from the registries the launcher names — never the
 * caller's `JSR_URL` or `NPM_CONFIG_REGISTRY`. Saves the manifest of a registry-name target
 * for JSR launchers. Idempotent. Requires `--allow-run` (Deno), `--allow-read`, `--allow-write`
 * and network access to the registries.
 *
 * @param launcher The launcher, from {@link resolveLauncher}.
 * @param options Deno binary, environment, manifest, progress.
 * @returns Nothing; the launcher's folder holds its cache.
 * @throws {Error} When Deno cannot cache it, with Deno's message.
 * @example
 * ```ts ignore
 * const launcher = await resolveLauncher({ cacheRoot: "/home/ada/.cache/mcp-run" });
 * await cacheLauncher(launcher);
 * ```
 */
export async function cacheLauncher(
  launcher: CachedLauncher,
  options: CacheLauncherOptions = {},
): Promise<void> {
  await Deno.mkdir(launcher.dir, { recursive: true });
  if (launcher.config) {
    let seed: string | undefined;
    try {
      seed = await Deno.readTextFile(join(dirname(launcher.config), "deno.lock"));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (seed !== undefined) await writeAtomic(launcher.lockFile, seed);
  }
  if (launcher.manifests && options.manifest) {
    await Deno.mkdir(launcher.manifests, { recursive: true });
    const file = join(launcher.manifests, `${options.manifest.name}.jsonc`);
    await Deno.writeTextFile(file, `${JSON.stringify(options.manifest, null, 2)}\n`);
  }
  const source = options.source ?? Deno.env.toObject();
  const env: Record<string, string> = {
    DENO_DIR: launcher.denoDir,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    ...launcher.registries,
  };
  for (const name of ["HOME", "PATH", ...PULL_VARS]) {
    if (name in launcher.registries || source[name] === undefined) continue;
    env[name] = source[name];
  }
  options.progress?.(`Caching the launcher ${launcher.module}`);
  const output = await new Deno.Command(options.deno ?? Deno.execPath(), {
    args: [
      "cache",
      `--lock=${launcher.lockFile}`,
      launcher.config ? `--config=${launcher.config}` : "--no-config",
      launcher.module,
    ],
    cwd: launcher.dir,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const tail = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-6).join("\n");
    throw new Error(
      `Cannot cache the launcher "${launcher.module}" from ${launcher.registries.JSR_URL} and ` +
        `${launcher.registries.NPM_CONFIG_REGISTRY}: ${tail}`,
    );
  }
}

async function findConfig(file: string): Promise<string> {
  for (let dir = dirname(file);; dir = dirname(dir)) {
    const candidate = join(dir, "deno.json");
    try {
      await Deno.stat(candidate);
      return candidate;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (dirname(dir) === dir || !isAbsolute(dir)) break;
  }
  throw new Deno.errors.NotFound(
    `Cannot use "${file}" as the launcher: no deno.json in its folder or above`,
  );
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}
