/**
 * What a learn run starts: the exact package (a registry lookup for a bare npm name or a tag),
 * its identity, and its arguments with every existing path replaced by a scratch stand-in.
 *
 * @module
 */
import { basename, join, resolve } from "../_path.ts";
import { DEFAULT_NPM_REGISTRY } from "../policy/package_dir.ts";
import { loadManifest } from "../registry/load.ts";
import type { LearnParameter } from "./draft_manifest.ts";

/** The package a learn run starts, and what it is called. */
export interface LearnTarget {
  /** The exact package: `npm:name@1.2.3[/bin]`, `jsr:…`, or a local module path. */
  package: string;
  /** A registry name for the draft. */
  name: string;
  /** One sentence for the draft. */
  description: string;
  /** Upstream page, when the registry knows it. */
  homepage?: string;
  /** Arguments a manifest target gives the server, before the user's. */
  args: string[];
  /** A manifest target's path parameters (they get scratch folders too). */
  pathParams: Record<string, "path" | "path[]">;
  /** The folder a manifest target's local package is relative to. */
  manifestDir?: string;
}

/**
 * Finds the exact package of a learn target: `npm:name[@version|@tag][/bin]`, `name@latest`,
 * `jsr:@scope/name@x.y.z`, or a manifest file.
 */
export async function resolveLearnTarget(
  target: string,
  registry: string | undefined,
  fetcher: typeof fetch,
): Promise<LearnTarget> {
  if (/\.jsonc?$/i.test(target)) return await manifestTarget(target);
  if (target.startsWith(".") || target.startsWith("/")) {
    throw new TypeError(
      `Cannot learn "${target}": a local server is learned from a manifest, not its module; ` +
        `write a .jsonc file next to it with "name", "description" and ` +
        `"package": "./${basename(target)}", then learn that file`,
    );
  }
  if (target.startsWith("jsr:")) {
    if (!/^jsr:@[^/]+\/[^@/]+@\d+\.\d+\.\d+/.test(target)) {
      throw new TypeError(
        `Cannot learn "${target}": a JSR package needs an exact version (jsr:@scope/name@1.2.3)`,
      );
    }
    const name = /^jsr:@[^/]+\/([^@/]+)/.exec(target)![1];
    return {
      package: target,
      name: draftName(name),
      description: `${name} MCP server`,
      args: [],
      pathParams: {},
    };
  }
  return await npmTarget(target.replace(/^npm:/, ""), registry ?? DEFAULT_NPM_REGISTRY, fetcher);
}

async function manifestTarget(path: string): Promise<LearnTarget> {
  const { manifest, dir } = await loadManifest(path.includes("/") ? path : `./${path}`);
  const pathParams: Record<string, "path" | "path[]"> = {};
  for (const [name, spec] of Object.entries(manifest.parameters)) {
    if (spec.type === "path" || spec.type === "path[]") pathParams[name] = spec.type;
  }
  return {
    package: manifest.package,
    name: manifest.name,
    description: manifest.description,
    homepage: manifest.homepage,
    args: manifest.args,
    pathParams,
    manifestDir: dir,
  };
}

/** `name[@version][/bin]` → the exact version from the registry, with its description. */
async function npmTarget(
  spec: string,
  registry: string,
  fetcher: typeof fetch,
): Promise<LearnTarget> {
  const match = /^((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(\/.*)?$/.exec(spec);
  if (!match) throw new TypeError(`Cannot learn "${spec}": not an npm package name`);
  const [, name, wanted = "latest", bin = ""] = match;
  const url = new URL(
    `${name.replace("/", "%2f")}`,
    registry.endsWith("/") ? registry : `${registry}/`,
  );
  let response: Response;
  try {
    response = await fetcher(url, { headers: { accept: "application/json" } });
  } catch (error) {
    throw new Error(`Cannot reach the npm registry ${url.origin} to look up "${name}"`, {
      cause: error,
    });
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw new Deno.errors.NotFound(
      `Cannot learn "npm:${name}": the npm registry ${url.origin} has no such package; check the name`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Cannot look up "npm:${name}": the npm registry answered ${response.status}`);
  }
  const doc = await response.json() as NpmPackument;
  const version = doc["dist-tags"]?.[wanted] ?? wanted;
  const meta = doc.versions?.[version];
  if (!meta) {
    throw new Deno.errors.NotFound(
      `Cannot learn "npm:${name}@${wanted}": no such version or tag; the latest is ` +
        `${doc["dist-tags"]?.latest ?? "unknown"}`,
    );
  }
  const homepage = typeof meta.homepage === "string" && /^https?:\/\//.test(meta.homepage)
    ? meta.homepage
    : undefined;
  return {
    package: `npm:${name}@${version}${bin}`,
    name: draftName(name),
    description: oneLine(meta.description) || `${name} MCP server`,
    homepage,
    args: [],
    pathParams: {},
  };
}

interface NpmPackument {
  "dist-tags"?: Record<string, string>;
  versions?: Record<string, { description?: string; homepage?: string }>;
}

/** Longest drafted description. */
const MAX_DESCRIPTION = 200;

/** A registry description as one line, cut at a word boundary with `…` when too long. */
function oneLine(text: unknown): string {
  if (typeof text !== "string") return "";
  const line = text
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    // Invisible and bidirectional characters could make the description read otherwise.
    .replace(/[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, "")
    .trim();
  if (line.length <= MAX_DESCRIPTION) return line;
  const cut = line.slice(0, MAX_DESCRIPTION);
  const space = cut.lastIndexOf(" ");
  return `${(space > MAX_DESCRIPTION / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.-]+$/, "")}…`;
}

/** A registry name from a package name: `@scope/My_Server` → `my-server`. */
export function draftName(packageName: string): string {
  const parts = packageName.split("/");
  const last = parts.pop() ?? packageName;
  // `@hubspot/mcp-server` is named by its scope: "mcp-server" alone names no server.
  const generic = /^(mcp|server|mcp[-_.]?server|server[-_.]?mcp)$/i.test(last);
  const scope = parts[0]?.startsWith("@") ? parts[0].slice(1) : undefined;
  const whole = generic && scope ? `${scope}-${last}` : last;
  const name = whole.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return name.slice(0, 64).replace(/-+$/, "") || "server";
}

/** The server's arguments with each existing path replaced by a parameter and a stand-in. */
export interface LearnArgs {
  /** The arguments, path arguments as `${param}`. */
  args: string[];
  /** The parameters, each with its scratch stand-ins. */
  parameters: Record<string, LearnParameter>;
  /** The values the learn run gives each parameter (the stand-ins). */
  values: Record<string, string[]>;
  /** Each replaced path (absolute) and its stand-in, for the tool calls' arguments. */
  standIns: [string, string][];
}

/**
 * Replaces arguments that name existing paths (`/data`, `./src`, `--root=/x`) with parameters,
 * and makes an empty scratch stand-in for each (a folder for a folder, an empty file for a file):
 * the user's files are never read. A run of positional paths becomes one `path[]` parameter.
 */
export async function scratchArgs(
  args: readonly string[],
  scratch: string,
  cwd: string,
): Promise<LearnArgs> {
  const out: LearnArgs = { args: [], parameters: {}, values: {}, standIns: [] };
  let i = 0;
  while (i < args.length) {
    const arg = args[i];
    const eq = /^(--?[A-Za-z][\w-]*)=(.+)$/.exec(arg);
    if (eq && await pathKind(eq[2], cwd)) {
      const name = uniqueName(paramName(eq[1]), out.parameters);
      await addParam(out, name, [eq[2]], scratch, cwd);
      out.args.push(`${eq[1]}=\${${name}}`);
      i++;
      continue;
    }
    const run: string[] = [];
    while (i + run.length < args.length && await pathKind(args[i + run.length], cwd)) {
      run.push(args[i + run.length]);
    }
    if (run.length === 0) {
      out.args.push(arg);
      i++;
      continue;
    }
    // One path right after a path-like flag is that flag's value (`--root /x`); after any other
    // flag (`--stdio /x`, a switch) and when several, it is positional.
    const flag = run.length === 1 && i > 0 && /^--?[A-Za-z]/.test(args[i - 1]) &&
        PATH_FLAG.test(args[i - 1])
      ? args[i - 1]
      : undefined;
    const kinds = await Promise.all(run.map((p) => pathKind(p, cwd)));
    const base = flag
      ? paramName(flag)
      : run.length > 1
      ? (kinds.every((k) => k === "dir") ? "dirs" : "paths")
      : kinds[0] === "dir"
      ? "dir"
      : "file";
    const name = uniqueName(base, out.parameters);
    await addParam(out, name, run, scratch, cwd);
    out.args.push(`\${${name}}`);
    i += run.length;
  }
  return out;
}

async function addParam(
  out: LearnArgs,
  name: string,
  paths: string[],
  scratch: string,
  cwd: string,
): Promise<void> {
  const stand: string[] = [];
  for (const [n, path] of paths.entries()) {
    const folder = join(scratch, "params", name, String(n));
    await Deno.mkdir(folder, { recursive: true });
    const real = resolve(cwd, path);
    if (await pathKind(path, cwd) === "dir") {
      stand.push(folder);
      out.standIns.push([real, folder]);
    } else {
      const file = join(folder, basename(resolve(cwd, path)) || "file");
      await Deno.writeTextFile(file, "");
      stand.push(file);
      out.standIns.push([real, file]);
    }
  }
  out.parameters[name] = {
    type: paths.length > 1 ? "path[]" : "path",
    scratch: stand,
    description: paths.length > 1 ? "Paths the server works on" : "A path the server works on",
  };
  out.values[name] = stand;
}

/** `dir` or `file` when the argument names an existing path, else undefined. */
async function pathKind(arg: string, cwd: string): Promise<"dir" | "file" | undefined> {
  if (arg.startsWith("-") || arg.length === 0 || /^[a-z][a-z0-9+.-]*:/i.test(arg)) return undefined;
  try {
    const info = await Deno.stat(resolve(cwd, arg));
    return info.isDirectory ? "dir" : "file";
  } catch {
    return undefined;
  }
}

/** Flags whose value is a path, by their name. */
const PATH_FLAG =
  /(dir|directory|directories|dirs|path|paths|root|roots|folder|folders|file|files|workspace|project|cwd|home|base|location|repo|repository|db|database|data|config|output|input)$/i;

function paramName(flag: string): string {
  const name = flag.replace(/^-+/, "").replace(/[^A-Za-z0-9]+/g, "_").toLowerCase();
  return /^[a-z_]/.test(name) ? name : `p_${name}`;
}

function uniqueName(base: string, taken: Record<string, unknown>): string {
  let name = base === "package_dir" ? "package_folder" : base;
  for (let n = 2; name in taken; n++) name = `${base}_${n}`;
  return name;
}

/**
 * A tool call's arguments with every path the user gave as a server argument (or a path inside
 * it) replaced by its scratch stand-in, so calls made with real paths reach the stand-ins.
 */
export function standInArguments(value: unknown, standIns: readonly [string, string][]): unknown {
  if (typeof value === "string") {
    for (const [real, stand] of standIns) {
      if (value === real) return stand;
      if (value.startsWith(`${real}/`)) return stand + value.slice(real.length);
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => standInArguments(v, standIns));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, standInArguments(v, standIns)]),
    );
  }
  return value;
}
