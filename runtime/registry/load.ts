/**
 * The built-in registry: manifests shipped in `manifests/`, found by name, or any manifest file.
 *
 * @module
 */
import { dirname, fileURLToPath as fromFileUrl, join, pathToFileURL, resolve } from "../_path.ts";
import { type Manifest, ManifestError, readManifest } from "../policy/manifest.ts";
import { MANIFEST_PATTERNS } from "../policy/manifest_schema.ts";

/** The folder of built-in manifests. */
export const BUILTIN_MANIFESTS: URL = new URL("../../manifests/", import.meta.url);

/** A manifest with where it came from. */
export interface LoadedManifest {
  /** The validated manifest. */
  manifest: Manifest;
  /** The file (path or URL) it was read from. */
  file: string;
  /** The folder local package paths are relative to (file manifests only). */
  dir?: string;
}

/** Options for {@linkcode loadManifest} and {@linkcode listManifests}. */
export interface RegistryOptions {
  /** Folders (or URLs) searched for `<name>.jsonc`, in order; default: the built-in registry. */
  sources?: (string | URL)[];
}

/**
 * Loads a manifest by registry name (`filesystem`) or by file path (`./my.jsonc`).
 *
 * An argument containing `/` or ending in `.json`/`.jsonc` is a file path; anything else is a
 * name looked up in the sources. Requires read access to the file or the registry folder.
 *
 * @param nameOrPath A registry name or a manifest file path.
 * @param options Registry sources.
 * @returns The manifest and its origin.
 * @throws {ManifestError} When the manifest is invalid, or the path is a folder.
 * @throws {Deno.errors.NotFound} When no such name or file exists, listing known names, or a
 *   registry folder does not exist.
 * @throws {TypeError} When a registry source is a file or has an unsupported scheme.
 *
 * @example
 * ```ts ignore
 * import { loadManifest } from "jsr:@sandboxed/mcp-run";
 * const { manifest } = await loadManifest("filesystem");
 * console.log(manifest.package);
 * ```
 */
export async function loadManifest(
  nameOrPath: string,
  options: RegistryOptions = {},
): Promise<LoadedManifest> {
  return await loadFrom(nameOrPath, options, new Map());
}

/** The indexes of URL sources read by one call, by source: each is fetched once per call. */
type IndexCache = Map<string, Promise<Map<string, string>>>;

function indexOf(source: URL, indexes: IndexCache): Promise<Map<string, string>> {
  let index = indexes.get(source.href);
  if (index === undefined) {
    index = readRegistryIndex(source);
    indexes.set(source.href, index);
  }
  return index;
}

async function loadFrom(
  nameOrPath: string,
  options: RegistryOptions,
  indexes: IndexCache,
): Promise<LoadedManifest> {
  if (nameOrPath.includes("/") || /\.jsonc?$/.test(nameOrPath)) {
    const file = resolve(nameOrPath);
    return {
      manifest: await readManifest(await readManifestFile(file), { file }),
      file,
      dir: dirname(file),
    };
  }
  for (const source of sourcesOf(options)) {
    const url = new URL(`${nameOrPath}.jsonc`, source);
    let digest: string | undefined;
    if (source.protocol !== "file:") {
      digest = (await indexOf(source, indexes)).get(nameOrPath);
      if (digest === undefined) continue;
    }
    const text = await readUrl(url);
    if (text === undefined) continue;
    if (digest !== undefined) {
      const actual = await sha256Text(text);
      if (actual !== digest) {
        throw new Error(
          `Cannot use manifest "${nameOrPath}" from ${url.href}: its sha256 is ${actual}, but ` +
            `the registry index says ${digest}. The registry or the connection changed it.`,
        );
      }
    }
    const file = url.protocol === "file:" ? fromFileUrl(url) : url.href;
    const manifest = await readManifest(text, { file });
    if (manifest.name !== nameOrPath) {
      // Registry entries are found by file name: a different `name` would list under one name
      // and be looked up under another.
      throw new ManifestError([{
        path: "name",
        message: `"${manifest.name}" is not this registry entry's name: an entry is named by its ` +
          `file (${nameOrPath}.jsonc); set "name" to "${nameOrPath}" or rename the file`,
      }], file);
    }
    return { manifest, file, dir: url.protocol === "file:" ? dirname(file) : undefined };
  }
  const known = await namesIn(options, indexes);
  throw new Deno.errors.NotFound(
    `No server named "${nameOrPath}" in the registry. Known servers: ${known.join(", ")}. ` +
      "Pass a manifest file path to run another server.",
  );
}

/**
 * Lists the names of all manifests in the sources (each name once, first source wins).
 *
 * @param options Registry sources.
 * @returns Sorted names.
 * @throws {Deno.errors.NotFound} When a registry folder does not exist.
 * @throws {TypeError} When a registry source is a file or has an unsupported scheme.
 */
export async function listManifestNames(options: RegistryOptions = {}): Promise<string[]> {
  return await namesIn(options, new Map());
}

async function namesIn(options: RegistryOptions, indexes: IndexCache): Promise<string[]> {
  const names = new Set<string>();
  for (const source of sourcesOf(options)) {
    if (source.protocol === "file:") {
      try {
        for await (const entry of Deno.readDir(source)) {
          if (entry.isFile && entry.name.endsWith(".jsonc")) names.add(entry.name.slice(0, -6));
        }
      } catch (error) {
        throw sourceError(source, error);
      }
    } else {
      for (const name of (await indexOf(source, indexes)).keys()) names.add(name);
    }
  }
  return [...names].sort();
}

/** A registry entry that {@linkcode listManifests} left out, and why. */
export interface SkippedManifest {
  /** The entry's registry name. */
  name: string;
  /** Why it was left out: invalid, unreadable, or not matching its registry index. */
  error: Error;
}

/** Options for {@linkcode listManifests}. */
export interface ListManifestsOptions extends RegistryOptions {
  /**
   * Called for each entry that cannot be loaded, which is then left out, so one bad file does
   * not hide the others. Without it, the first such entry throws.
   */
  onSkip?: (skipped: SkippedManifest) => void;
}

/**
 * Loads every manifest in the sources.
 *
 * @param options Registry sources, and what to do with an entry that cannot be loaded.
 * @returns The manifests, sorted by name.
 * @throws {ManifestError} When a manifest is invalid and there is no `onSkip`.
 * @throws {Deno.errors.NotFound} When a registry folder does not exist.
 *
 * @example
 * ```ts ignore
 * import { listManifests } from "jsr:@sandboxed/mcp-run";
 * const all = await listManifests({
 *   sources: ["./my-registry"],
 *   onSkip: ({ name, error }) => console.error(`Skipped "${name}": ${error.message}`),
 * });
 * console.log(all.map((l) => l.manifest.name));
 * ```
 */
export async function listManifests(
  options: ListManifestsOptions = {},
): Promise<LoadedManifest[]> {
  const out: LoadedManifest[] = [];
  // One read of each URL source's index serves the listing and every entry.
  const indexes: IndexCache = new Map();
  for (const name of await namesIn(options, indexes)) {
    try {
      out.push(await loadFrom(name, options, indexes));
    } catch (error) {
      if (!options.onSkip || !(error instanceof Error)) throw error;
      options.onSkip({ name, error });
    }
  }
  return out;
}

/**
 * Checks a registry source a user gave: an existing folder of `<name>.jsonc` manifests, or an
 * http(s) URL (whose `index.json` is read when the registry is used).
 *
 * @param source A folder path or URL.
 * @throws {Deno.errors.NotFound} When the folder does not exist.
 * @throws {TypeError} When it is a file, or a URL of another kind.
 *
 * @example
 * ```ts
 * import { checkRegistrySource } from "./load.ts";
 * await checkRegistrySource("https://registry.example/manifests/"); // fine
 * await checkRegistrySource("/no/such/folder").catch((e) => console.log(e.name)); // NotFound
 * ```
 */
export async function checkRegistrySource(source: string | URL): Promise<void> {
  const [url] = sourcesOf({ sources: [source] });
  if (url.protocol === "http:" || url.protocol === "https:") return;
  if (url.protocol !== "file:") {
    throw new TypeError(
      `Cannot use the registry "${source}": ${url.protocol} is not supported; give a folder ` +
        "or an http(s) URL",
    );
  }
  try {
    if (!(await Deno.stat(url)).isDirectory) throw new Deno.errors.NotADirectory();
  } catch (error) {
    throw sourceError(url, error, String(source));
  }
}

/** A registry folder that cannot be read, in words: which folder, why, what to give instead. */
function sourceError(url: URL, error: unknown, given = fromFileUrl(url)): Error {
  const fix = "give a folder of <name>.jsonc manifests, or an http(s) URL that serves index.json";
  if (error instanceof Deno.errors.NotFound) {
    return new Deno.errors.NotFound(
      `Cannot use the registry folder "${given}": it does not exist; ${fix}`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.NotADirectory) {
    return new TypeError(`Cannot use the registry "${given}": it is a file, not a folder; ${fix}`, {
      cause: error,
    });
  }
  return new Error(
    `Cannot read the registry folder "${given}": ${(error as Error).message}`,
    { cause: error },
  );
}

/** Reads a manifest file, saying in words which file cannot be read and why. */
async function readManifestFile(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot read manifest "${file}": no such file`, {
        cause: error,
      });
    }
    if (error instanceof Deno.errors.IsADirectory) {
      const example = await firstManifestIn(file);
      throw new ManifestError(
        [{
          path: "",
          message: "is a folder, not a manifest file: give the path of a manifest file" +
            (example ? `, such as "${example}"` : ""),
        }],
        file,
        { cause: error },
      );
    }
    throw new Error(`Cannot read manifest "${file}": ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The first `.jsonc` file of a folder, by name, to show in a message; none when unreadable. */
async function firstManifestIn(dir: string): Promise<string | undefined> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".jsonc")) names.push(entry.name);
    }
  } catch {
    return undefined;
  }
  return names.length ? join(dir, names.sort()[0]) : undefined;
}

function sourcesOf(options: RegistryOptions): URL[] {
  return (options.sources ?? [BUILTIN_MANIFESTS]).map((s) => {
    if (s instanceof URL) return s;
    if (/^[a-z]+:\/\//.test(s)) return new URL(s.endsWith("/") ? s : `${s}/`);
    const abs = resolve(s);
    return pathToFileURL(abs.endsWith("/") ? abs : `${abs}/`);
  });
}

async function readUrl(url: URL): Promise<string | undefined> {
  if (url.protocol === "file:") {
    try {
      return await Deno.readTextFile(url);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      if (error instanceof Deno.errors.IsADirectory) {
        const file = fromFileUrl(url);
        throw new ManifestError([{ path: "", message: "is a folder, not a manifest file" }], file, {
          cause: error,
        });
      }
      throw new Error(`Cannot read "${fromFileUrl(url)}": ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(
      `Cannot read ${url.href}: ${(error as Error).message}; check the registry URL and that it ` +
        "is reachable",
      { cause: error },
    );
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) throw new Error(`Cannot read ${url.href}: HTTP ${response.status}`);
  return await response.text();
}

/** A registry index (`index.json` beside the manifests of a URL source). */
export interface RegistryIndex {
  /** Every manifest served, with the hex SHA-256 of its exact bytes. */
  servers: { name: string; sha256: string }[];
}

async function sha256Text(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What a name in a registry index must look like: a registry name, never a path. */
const REGISTRY_NAME = new RegExp(MANIFEST_PATTERNS.name);

/**
 * Reads a URL source's `index.json`: names and the SHA-256 each manifest must have.
 *
 * @param source The source URL (a folder, ending in `/`).
 * @returns Digests by name; empty when the source has no index.
 * @throws {SyntaxError} When the index is not `{ "servers": [{ "name", "sha256" }] }` with
 *   64-hex-digit digests: entries without a digest are never trusted.
 */
export async function readRegistryIndex(source: URL): Promise<Map<string, string>> {
  const text = await readUrl(new URL("index.json", source));
  const out = new Map<string, string>();
  if (text === undefined) return out;
  let index: RegistryIndex;
  try {
    index = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot read the registry index of ${source.href}: not JSON`, {
      cause: error,
    });
  }
  if (!index || !Array.isArray(index.servers)) {
    throw new SyntaxError(
      `Cannot read the registry index of ${source.href}: expected {"servers": [{"name", ` +
        `"sha256"}]}`,
    );
  }
  for (const entry of index.servers) {
    if (
      typeof entry?.name !== "string" || !REGISTRY_NAME.test(entry.name) ||
      typeof entry.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(entry.sha256)
    ) {
      // A name is looked up as a manifest; one that looked like a path would read a local file.
      throw new SyntaxError(
        `Cannot read the registry index of ${source.href}: entry ${JSON.stringify(entry)} ` +
          "needs a registry name (lowercase letters, digits, dashes) and a 64-digit hex sha256",
      );
    }
    out.set(entry.name, entry.sha256);
  }
  return out;
}

/**
 * Builds the `index.json` for a folder of manifests, to serve it as a URL registry source.
 * Validates every manifest first. Requires read access to the folder.
 *
 * @param dir A folder of `<name>.jsonc` manifests.
 * @returns The index, names sorted.
 * @throws {ManifestError} When a manifest is invalid.
 * @throws {Deno.errors.NotFound} When the folder does not exist.
 * @example
 * ```ts ignore
 * import { buildRegistryIndex } from "jsr:@sandboxed/mcp-run";
 * await Deno.writeTextFile("site/index.json", JSON.stringify(await buildRegistryIndex("site")));
 * ```
 */
export async function buildRegistryIndex(dir: string): Promise<RegistryIndex> {
  const servers: RegistryIndex["servers"] = [];
  await checkRegistrySource(dir);
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".jsonc")) continue;
    const file = resolve(dir, entry.name);
    const text = await Deno.readTextFile(file);
    await readManifest(text, { file });
    servers.push({ name: entry.name.slice(0, -6), sha256: await sha256Text(text) });
  }
  servers.sort((a, b) => a.name.localeCompare(b.name));
  return { servers };
}
