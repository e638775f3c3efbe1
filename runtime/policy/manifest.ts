/**
 * The manifest format: what a server is, where its code comes from, and what it needs.
 *
 * A manifest is JSONC (comments and trailing commas allowed). {@linkcode readManifest} checks
 * every field and reports every problem in the file at once through {@linkcode ManifestError};
 * `parseManifest` in manifest_text.ts does the same synchronously.
 *
 * @module
 */
import { onUse } from "../_on_use.ts";
import type { Json } from "./_manifest_checker.ts";
import { manifestFromValue } from "./_manifest_value.ts";
import { readPlainJsonc } from "./_plain_jsonc.ts";
import { MAX_DEPTH, type ParameterType } from "./manifest_schema.ts";
import type { ToolRules } from "../guard/tool_filter.ts";
import type { ScanMode } from "../guard/scan.ts";

export { PARAMETER_TYPES, type ParameterType, SYS_NAMES } from "./manifest_schema.ts";
export { isReservedEnvName, reservedNamesMatching } from "./env_policy.ts";
export { BUILTIN_PLACEHOLDERS, placeholders } from "./_manifest_value.ts";

/** A value the user supplies at install or run time, referenced as `${name}`. */
export interface ParameterSpec {
  /** What kind of value it is; paths are made absolute and canonical, hosts validated. */
  type: ParameterType;
  /** One line shown in help and prompts. */
  description: string;
  /** Whether launching fails when the user gives no value and there is no default. */
  required: boolean;
  /** Used when the user gives no value. */
  default?: string | string[];
}

/** An environment variable the server reads (a plain setting or a credential). */
export interface EnvSpec {
  /** What the variable is for. */
  description: string;
  /** Whether launching fails when the variable is not set. */
  required: boolean;
  /**
   * A fixed value, `${name}` expanding parameters (env only, never secrets). When present the
   * launcher sets the variable itself and ignores the user's environment.
   */
  value?: string;
}

/** The permissions a manifest asks for. Entries may reference parameters as `${name}`. */
export interface ManifestPermissions {
  /** Paths the server may read. */
  read: string[];
  /** Paths the server may write. */
  write: string[];
  /** Hosts the server may reach: `host`, `host:port`, `*.domain`, IPv4, IPv4 CIDR. */
  net: string[];
  /** Environment variable names (exact, or a `PREFIX_*` pattern) the server may read. */
  env: string[];
  /** Deno sys API names (`hostname`, `osRelease`, …). */
  sys: string[];
  /** Programs the server may start; refused unless the user trusts the server. */
  run: string[];
  /** Native libraries the server may load; refused unless the user trusts the server. */
  ffi: string[];
}

/** A parsed, validated manifest. */
export interface Manifest {
  /** Registry name: lowercase letters, digits and dashes. */
  name: string;
  /** One sentence on what the server does. */
  description: string;
  /**
   * Where the code comes from: `npm:name@x.y.z[/bin]`, `jsr:@scope/name@x.y.z[/export]`
   * (exact versions only), or a local `.ts`/`.js` file path (relative to the manifest). Two kinds
   * run only in a container (docker isolation): `pypi:name[extra,…]@x.y.z[/script]` (an exact
   * version; the console script named like the project, else the only one, unless one is named)
   * and `oci:image@sha256:<64 hex>` (pinned by digest; a tag is refused).
   */
  package: string;
  /** Arguments passed to the server; `${name}` expands parameters. */
  args: string[];
  /** User-supplied values. */
  parameters: Record<string, ParameterSpec>;
  /** What the server may touch. */
  permissions: ManifestPermissions;
  /** Plain environment settings the server reads (names become `--allow-env`). */
  env: Record<string, EnvSpec>;
  /** Environment variables that carry credentials. */
  secrets: Record<string, EnvSpec>;
  /** Upstream project page, for people reading the registry. */
  homepage?: string;
  /**
   * For a `pypi:` package that needs more than the default Python image holds (a `git`
   * binary, say): the Python image it is installed and run in, pinned by digest. The user's
   * `--image` or config still choose another.
   */
  image?: string;
  /**
   * Which tools the client may see and call: `allow` and `deny` lists of names or `*` globs,
   * `readOnly` for only the tools the server annotates read-only. `--tools` and
   * `--exclude-tools` narrow it further, never widen it.
   */
  tools?: ToolRules;
  /**
   * What becomes of instruction-like text in the server's definitions: `warn` or `block`
   * (default `block`; `--scan` and the user's config choose first).
   */
  scan?: ScanMode;
  /**
   * Memory caps this server needs, in MiB, when more than the user's defaults (which it can
   * only raise): `heapMb` (V8 heap), `memoryMb` (the whole process).
   */
  limits?: { heapMb?: number; memoryMb?: number };
}

/** One problem found in a manifest. */
export interface ManifestProblem {
  /** JSON path of the offending value, like `permissions.net[2]` (empty for the whole file). */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
  /** 1-based line of the problem when the text was available. */
  line?: number;
  /** 1-based column of the problem when the text was available. */
  column?: number;
}

/**
 * Thrown when a manifest is not valid. Carries every problem found, each with its JSON path.
 *
 * @example
 * ```ts
 * import { ManifestError, readManifest } from "./manifest.ts";
 * try {
 *   await readManifest(`{ "name": "Bad Name" }`, { file: "bad.jsonc" });
 * } catch (error) {
 *   if (error instanceof ManifestError) console.log(error.problems.length > 1); // true
 * }
 * ```
 */
export class ManifestError extends Error {
  /** The file the manifest came from, if known. */
  readonly file?: string;
  /** Every problem found. */
  readonly problems: ManifestProblem[];

  /**
   * Builds the error and its message: the file, then one line per problem.
   *
   * @param problems Every problem found.
   * @param file The manifest's file, used in the message.
   * @param options Standard error options (`cause`).
   */
  constructor(problems: ManifestProblem[], file?: string, options?: ErrorOptions) {
    const where = file ? `"${file}"` : "manifest";
    const lines = problems.map((p) => {
      const at = p.line ? `${file ?? ""}:${p.line}:${p.column} ` : "";
      return `  - ${at}${p.path || "(file)"}: ${p.message}`;
    });
    super(
      `Invalid ${where}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${
        lines.join("\n")
      }`,
      options,
    );
    this.name = "ManifestError";
    this.file = file;
    this.problems = problems;
  }
}

/** Options for {@linkcode parseManifest}. */
export interface ParseManifestOptions {
  /** The file name, used in error messages. */
  file?: string;
}

/**
 * Reads and validates manifest text (JSONC), as `parseManifest` (manifest_text.ts) does, with
 * the same result and the same problems. Plain text is read without loading the JSONC parser;
 * anything else, and any manifest with a problem, goes through `parseManifest`, which names
 * each problem's line and column.
 *
 * @param text The manifest's JSONC text.
 * @param options The file name for messages.
 * @returns The validated manifest with defaults filled in.
 * @throws {ManifestError} When the text is not valid JSONC or any field is wrong.
 *
 * @example
 * ```ts
 * import { readManifest } from "./manifest.ts";
 * const manifest = await readManifest(`{
 *   // comments are fine
 *   "name": "time",
 *   "description": "Current time",
 *   "package": "npm:@example/time-server@1.0.0",
 * }`);
 * console.log(manifest.permissions.net); // []
 * ```
 */
export async function readManifest(
  text: string,
  options: ParseManifestOptions = {},
): Promise<Manifest> {
  const plain = readPlainJsonc(text.startsWith("\uFEFF") ? text.slice(1) : text, MAX_DEPTH);
  if (plain !== undefined) {
    const { manifest } = manifestFromValue(plain as Json);
    if (manifest) return manifest;
  }
  const { parseManifest } = await (import(onUse("./manifest_text.ts", import.meta.url)) as Promise<
    typeof import("./manifest_text.ts")
  >);
  return parseManifest(text, options);
}
