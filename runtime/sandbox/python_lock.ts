/**
 * The pure steps of a Python pull: pip's resolution report becomes a lock with the sha256 of
 * every distribution; the installed package's console scripts give the one to run; and the
 * small entry file that starts it. Pure.
 *
 * @module
 */
import { normalizePypiName, type PypiPackage } from "../policy/package_kind.ts";

/** One line of a lock. */
export interface LockEntry {
  /** The project's name, as its metadata gives it. */
  name: string;
  /** Its exact version. */
  version: string;
  /** Hex sha256 of the file pip will install. */
  sha256: string;
}

/** One locked distribution, as resolved. */
export interface LockedDist extends LockEntry {
  /** Whether it is a source distribution (built at install time). */
  sdist: boolean;
}

/** Options for {@linkcode lockFromReport}. */
export interface LockFromReportOptions {
  /** Accept source distributions (default false). */
  allowBuild?: boolean;
}

const NAME_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const VERSION_RE = /^[0-9]+(![0-9]+)?[A-Za-z0-9.+_-]*$/;
const HEX_RE = /^[0-9a-f]{64}$/;

/**
 * Turns pip's installation report (`pip install --dry-run --report`) into a lock: one
 * `name==version --hash=sha256:…` line per distribution, sorted by name. The package itself must
 * be in it at its exact version; every entry must come from the index (no direct URL) with a
 * sha256; a source distribution is refused unless `allowBuild`.
 *
 * @param report The parsed report.
 * @param pkg The package that was resolved.
 * @param options Whether source distributions are accepted.
 * @returns The distributions and the lock's text (what `pip install --require-hashes -r` reads).
 * @throws {TypeError} When the report is not the shape pip writes, or an entry has no sha256,
 *   an unsafe name or version, or a direct URL.
 * @throws {RangeError} When the package is missing from it, or a source distribution is found
 *   and `allowBuild` is not set (the message says to pass `--allow-build`).
 *
 * @example
 * ```ts
 * import { lockFromReport } from "./python_lock.ts";
 * const { text } = lockFromReport({
 *   install: [{
 *     metadata: { name: "demo", version: "1.0" },
 *     download_info: {
 *       url: "https://files.example/demo-1.0-py3-none-any.whl",
 *       archive_info: { hashes: { sha256: "0".repeat(64) } },
 *     },
 *   }],
 * }, { name: "demo", extras: [], version: "1.0" });
 * console.log(text.startsWith("demo==1.0 --hash=sha256:000")); // true
 * ```
 */
export function lockFromReport(
  report: unknown,
  pkg: PypiPackage,
  options: LockFromReportOptions = {},
): { dists: LockedDist[]; text: string } {
  const install = (report as { install?: unknown })?.install;
  if (!Array.isArray(install)) {
    throw new TypeError("Cannot read pip's report: it has no install list");
  }
  const dists = install.map(lockedDist).sort((a, b) => a.name.localeCompare(b.name));
  const wanted = normalizePypiName(pkg.name);
  if (!dists.some((d) => normalizePypiName(d.name) === wanted && d.version === pkg.version)) {
    throw new RangeError(
      `pip resolved ${pkg.name}==${pkg.version} without the package itself: cannot lock it`,
    );
  }
  const built = dists.filter((d) => d.sdist);
  if (built.length > 0 && !options.allowBuild) throw sdistRefusal(pkg, built.map(distName));
  const text = dists.map((d) => `${d.name}==${d.version} --hash=sha256:${d.sha256}\n`).join("");
  return { dists, text };
}

const LOCK_LINE_RE =
  /^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)==(\S+) --hash=sha256:([0-9a-f]{64})$/;

/**
 * Reads a lock written by {@linkcode lockFromReport} back, for a re-pull that must install the
 * same code.
 *
 * @param text The lock's text.
 * @returns Its entries, or `undefined` when a line is not one such a lock holds.
 *
 * @example
 * ```ts
 * import { parseLock } from "./python_lock.ts";
 * console.log(parseLock(`demo==1.0 --hash=sha256:${"0".repeat(64)}\n`)?.[0].name); // "demo"
 * console.log(parseLock("demo>=1.0\n")); // undefined
 * ```
 */
export function parseLock(text: string): LockEntry[] | undefined {
  const entries: LockEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = LOCK_LINE_RE.exec(line);
    if (!m || !VERSION_RE.test(m[3])) return undefined;
    entries.push({ name: m[1], version: m[3], sha256: m[4] });
  }
  return entries.length > 0 ? entries : undefined;
}

function distName(d: { name: string; version: string }): string {
  return `${d.name}==${d.version}`;
}

/**
 * The error for distributions that exist only as source: building them runs their code.
 *
 * @param pkg The package being pulled.
 * @param names The distributions, `name==version` (empty: pip named none).
 * @returns The error, saying to pass `--allow-build` to build them in the pull container.
 */
export function sdistRefusal(pkg: PypiPackage, names: string[]): RangeError {
  const which = names.length > 0
    ? `${names.join(", ")} ${names.length === 1 ? "has" : "have"}`
    : "one of its distributions has";
  return new RangeError(
    `Cannot pull pypi:${pkg.name}@${pkg.version}: ${which} no wheel, only a source ` +
      "distribution, and building one runs its code at install time. Pass --allow-build to " +
      "build it in the pull container (it never runs on this machine), or choose a version " +
      "published with wheels",
  );
}

function lockedDist(entry: unknown, index: number): LockedDist {
  const e = entry as {
    metadata?: { name?: unknown; version?: unknown };
    download_info?: { url?: unknown; archive_info?: { hashes?: { sha256?: unknown } } };
    is_direct?: unknown;
  };
  const name = e?.metadata?.name;
  const version = e?.metadata?.version;
  const sha256 = e?.download_info?.archive_info?.hashes?.sha256;
  const url = e?.download_info?.url;
  const what = typeof name === "string" ? `"${name}"` : `entry ${index}`;
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new TypeError(`Cannot lock ${what} of pip's report: its name is not a project name`);
  }
  if (typeof version !== "string" || !VERSION_RE.test(version)) {
    throw new TypeError(`Cannot lock ${what} of pip's report: its version is not a version`);
  }
  if (e.is_direct === true || typeof url !== "string") {
    throw new TypeError(`Cannot lock ${what}: it does not come from the package index`);
  }
  if (typeof sha256 !== "string" || !HEX_RE.test(sha256)) {
    throw new TypeError(`Cannot lock ${what}: the index gave no sha256 for it`);
  }
  const file = new URL(url).pathname.split("/").at(-1) ?? "";
  return { name, version, sha256, sdist: !file.endsWith(".whl") };
}

/**
 * The console scripts an `entry_points.txt` declares: name → `module:attribute`.
 *
 * @param text The file's text.
 * @returns The scripts whose target is a plain module path and attribute.
 *
 * @example
 * ```ts
 * import { consoleScripts } from "./python_lock.ts";
 * const text = "[console_scripts]\nmcp-server-time = mcp_server_time:main\n";
 * console.log(consoleScripts(text)); // { "mcp-server-time": "mcp_server_time:main" }
 * ```
 */
export function consoleScripts(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      section = header[1].trim();
      continue;
    }
    if (section !== "console_scripts") continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const name = line.slice(0, eq).trim();
    // Extras after the target (`mod:fn [extra]`) only say what to install: dropped.
    const target = line.slice(eq + 1).replace(/\[.*\]\s*$/, "").trim();
    if (NAME_RE.test(name) && TARGET_RE.test(target)) out[name] = target;
  }
  return out;
}

const IDENT = "[A-Za-z_][A-Za-z0-9_]*";
const TARGET_RE = new RegExp(`^${IDENT}(\\.${IDENT})*:${IDENT}(\\.${IDENT})*$`);

/**
 * Chooses the console script to run: the one the specifier names; else the one named like the
 * project; else the only one.
 *
 * @param scripts The package's console scripts (see {@linkcode consoleScripts}).
 * @param pkg The package.
 * @returns The script's name.
 * @throws {RangeError} When the named script is missing, or none is named and the choice is
 *   not clear (the message lists them and shows how to name one).
 *
 * @example
 * ```ts
 * import { chooseConsoleScript } from "./python_lock.ts";
 * const scripts = { "mcp-server-time": "mcp_server_time:main", other: "x:y" };
 * console.log(chooseConsoleScript(scripts, { name: "mcp_server_time", extras: [], version: "1" }));
 * // "mcp-server-time"
 * ```
 */
export function chooseConsoleScript(scripts: Record<string, string>, pkg: PypiPackage): string {
  const names = Object.keys(scripts).sort();
  const listed = names.length > 0 ? names.join(", ") : "none";
  const how = (script: string) => `pypi:${pkg.name}@${pkg.version}/${script}`;
  if (pkg.script !== undefined) {
    if (Object.hasOwn(scripts, pkg.script)) return pkg.script;
    throw new RangeError(
      `Cannot run ${how(pkg.script)}: the package has no console script "${pkg.script}" ` +
        `(it has: ${listed}). Name one of them after the version`,
    );
  }
  const same = names.filter((n) => normalizePypiName(n) === normalizePypiName(pkg.name));
  if (same.length === 1) return same[0];
  if (names.length === 1) return names[0];
  throw new RangeError(
    names.length === 0
      ? `Cannot run pypi:${pkg.name}@${pkg.version}: it installs no console script, so there ` +
        "is nothing to start"
      : `Cannot tell which console script of pypi:${pkg.name}@${pkg.version} to run (it has: ` +
        `${listed}): name one in the package, e.g. ${how(names[0])}`,
  );
}

/**
 * The entry file the run starts: puts the installed folder first on `sys.path`, then calls the
 * console script's target as pip's own script would.
 *
 * @param script The console script's name.
 * @param target Its `module:attribute` (see {@linkcode consoleScripts}).
 * @param libDir The installed folder, as the container sees it.
 * @returns The file's text.
 * @throws {TypeError} When the target, name or folder is not plain (they become Python code).
 *
 * @example
 * ```ts
 * import { entryScript } from "./python_lock.ts";
 * const text = entryScript("t", "pkg.cli:main", "/mcp-run-code/lib");
 * console.log(text.includes('import_module("pkg.cli")')); // true
 * ```
 */
export function entryScript(script: string, target: string, libDir: string): string {
  if (!TARGET_RE.test(target) || !NAME_RE.test(script) || !/^\/[A-Za-z0-9/_.-]*$/.test(libDir)) {
    throw new TypeError(`Cannot write an entry for "${script}" = "${target}": not plain names`);
  }
  const [module, attribute] = target.split(":");
  return [
    `# Written by mcp-run: starts the console script "${script}" (${target}).`,
    "import importlib, sys",
    `sys.path.insert(0, ${JSON.stringify(libDir)})`,
    `sys.argv[0] = ${JSON.stringify(script)}`,
    `target = importlib.import_module(${JSON.stringify(module)})`,
    `for part in ${JSON.stringify(attribute)}.split("."):`,
    "    target = getattr(target, part)",
    "sys.exit(target())",
    "",
  ].join("\n");
}
