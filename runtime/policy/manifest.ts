/**
 * The manifest format: what a server is, where its code comes from, and what it needs.
 *
 * A manifest is JSONC (comments and trailing commas allowed). {@linkcode parseManifest} checks
 * every field and reports every problem in the file at once through {@linkcode ManifestError}.
 *
 * @module
 */
import { parse as parseJsonc, type ParseError } from "jsonc-parser";
import { Checker, type Json } from "./_manifest_checker.ts";
import { duplicateKeys, locate, nestingProblem, syntaxProblems } from "./_manifest_text.ts";
import {
  MANIFEST_FIELDS,
  MANIFEST_PATTERNS,
  PARAMETER_TYPES,
  type ParameterType,
  PERMISSION_KINDS,
  SYS_NAMES,
} from "./manifest_schema.ts";

import { isReservedEnvName } from "./env_policy.ts";

export { PARAMETER_TYPES, type ParameterType, SYS_NAMES };
export { isReservedEnvName, reservedNamesMatching } from "./env_policy.ts";

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
   * (exact versions only), or a local `.ts`/`.js` file path (relative to the manifest).
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
 * import { ManifestError, parseManifest } from "./manifest.ts";
 * try {
 *   parseManifest(`{ "name": "Bad Name" }`, { file: "bad.jsonc" });
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

const NAME_RE = new RegExp(MANIFEST_PATTERNS.name);
const PARAM_RE = new RegExp(MANIFEST_PATTERNS.parameterName);
const ENV_NAME_RE = new RegExp(MANIFEST_PATTERNS.envName);
const ENV_ENTRY_RE = new RegExp(MANIFEST_PATTERNS.envEntry);
const NPM_RE = new RegExp(MANIFEST_PATTERNS.npmPackage);
const JSR_RE = new RegExp(MANIFEST_PATTERNS.jsrPackage);
const LOCAL_RE = new RegExp(MANIFEST_PATTERNS.localPackage);

/** Placeholder names referenced in a string (`${name}`). */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
}

/**
 * Parses and validates manifest text (JSONC).
 *
 * Every problem is collected: unknown fields, wrong types, version ranges, reserved environment
 * names, placeholders that name no parameter, and grants that are never allowed in a manifest.
 *
 * @param text The manifest's JSONC text.
 * @param options The file name for messages.
 * @returns The validated manifest with defaults filled in.
 * @throws {ManifestError} When the text is not valid JSONC or any field is wrong.
 *
 * @example
 * ```ts
 * import { parseManifest } from "./manifest.ts";
 * const manifest = parseManifest(`{
 *   // comments are fine
 *   "name": "time",
 *   "description": "Current time",
 *   "package": "npm:@example/time-server@1.0.0",
 * }`);
 * console.log(manifest.permissions.net); // []
 * ```
 */
export function parseManifest(text: string, options: ParseManifestOptions = {}): Manifest {
  // A byte order mark is not part of the JSON text; editors on Windows often write one.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  // Checked before any parser recurses, so deep nesting is a problem, not a stack overflow.
  const tooDeep = nestingProblem(text);
  if (tooDeep) throw new ManifestError([tooDeep], options.file);
  if (text.trim() === "") {
    throw new ManifestError([{
      path: "",
      message: "the file is empty: a manifest is a JSON object with at least name, description " +
        "and package",
    }], options.file);
  }
  const errors: ParseError[] = [];
  const raw = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false }) as
    | Json
    | undefined;
  if (errors.length > 0) throw new ManifestError(syntaxProblems(text, errors), options.file);
  const c = new Checker();
  c.problems.push(...duplicateKeys(text));
  const root = c.object(raw ?? null, "");
  if (!root) throw new ManifestError(c.problems, options.file);
  c.keys(root, "", MANIFEST_FIELDS.root);

  const { name, description, pkg, homepage } = checkIdentity(c, root);
  const parameters = checkParameters(c, root.parameters);

  const args = c.strings(root.args, "args");
  args.forEach((arg, i) => checkPlaceholders(c, arg, `args[${i}]`, parameters));

  const permissions = checkPermissions(c, root.permissions, parameters);

  const env = envSpecs(c, root.env, "env", parameters);
  const secrets = envSpecs(c, root.secrets, "secrets", parameters);
  for (const key of Object.keys(secrets)) {
    if (key in env) c.add(`secrets.${key}`, `"${key}" is declared in both env and secrets`);
  }

  if (c.problems.length > 0) {
    throw new ManifestError(
      c.problems.map((p) => p.line ? p : { ...p, ...locate(text, p.path) }),
      options.file,
    );
  }
  const manifest: Manifest = {
    name,
    description,
    package: pkg,
    args,
    parameters,
    permissions,
    env,
    secrets,
  };
  if (homepage !== undefined) manifest.homepage = homepage;
  return manifest;
}

/** The fields that say what the server is and where its code comes from. */
function checkIdentity(
  c: Checker,
  root: Record<string, Json>,
): { name: string; description: string; pkg: string; homepage?: string } {
  const name = c.string(root.name, "name", true) ?? "";
  if (root.name !== undefined && typeof root.name === "string" && !NAME_RE.test(name)) {
    c.add("name", `"${name}" is not a valid name: use lowercase letters, digits and dashes`);
  }
  const description = c.string(root.description, "description", true) ?? "";
  const pkg = c.string(root.package, "package", true) ?? "";
  if (typeof root.package === "string") checkPackage(c, pkg);
  const homepage = c.string(root.homepage, "homepage", false);
  return { name, description, pkg, homepage };
}

/** The declared parameters, with defaults filled in. */
function checkParameters(c: Checker, value: Json | undefined): Record<string, ParameterSpec> {
  const parameters: Record<string, ParameterSpec> = {};
  const paramObj = c.object(value, "parameters") ?? {};
  for (const [key, value] of Object.entries(paramObj)) {
    const path = `parameters.${key}`;
    if (!PARAM_RE.test(key)) {
      c.add(path, `"${key}" is not a valid parameter name: use letters, digits and underscores`);
    }
    const spec = c.object(value, path);
    if (!spec) continue;
    c.keys(spec, path, MANIFEST_FIELDS.parameter);
    const type = c.string(spec.type, `${path}.type`, true);
    if (type !== undefined && !PARAMETER_TYPES.includes(type as ParameterType)) {
      c.add(
        `${path}.type`,
        `unknown type "${type}"; use one of ${PARAMETER_TYPES.map((t) => `"${t}"`).join(", ")}`,
      );
    }
    const desc = c.string(spec.description, `${path}.description`, true) ?? "";
    const required = c.boolean(spec.required, `${path}.required`) ?? false;
    let def: string | string[] | undefined;
    if (spec.default !== undefined) {
      if (type?.endsWith("[]")) def = c.strings(spec.default, `${path}.default`);
      else def = c.string(spec.default, `${path}.default`, false);
    }
    parameters[key] = { type: (type ?? "string") as ParameterType, description: desc, required };
    if (def !== undefined) parameters[key].default = def;
  }
  return parameters;
}

/** Every permission list, each entry checked against its kind's rules. */
function checkPermissions(
  c: Checker,
  value: Json | undefined,
  parameters: Record<string, ParameterSpec>,
): ManifestPermissions {
  const permObj = c.object(value, "permissions") ?? {};
  c.keys(permObj, "permissions", MANIFEST_FIELDS.permissions);
  const permissions = {} as ManifestPermissions;
  for (const kind of PERMISSION_KINDS) {
    const list = c.strings(permObj[kind], `permissions.${kind}`);
    permissions[kind] = list;
    list.forEach((entry, i) => {
      const path = `permissions.${kind}[${i}]`;
      checkPlaceholders(c, entry, path, parameters);
      checkGrant(c, kind, entry, path, parameters);
    });
  }
  return permissions;
}

function checkPackage(c: Checker, pkg: string): void {
  if (pkg.startsWith("npm:")) {
    if (!NPM_RE.test(pkg)) {
      c.add(
        "package",
        `"${pkg}" is not an exact npm package: write npm:name@1.2.3 (optionally /bin), no ranges or tags`,
      );
    }
  } else if (pkg.startsWith("jsr:")) {
    if (!JSR_RE.test(pkg)) {
      c.add(
        "package",
        `"${pkg}" is not an exact JSR package: write jsr:@scope/name@1.2.3, no ranges`,
      );
    }
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(pkg)) {
    c.add("package", `"${pkg}" uses an unsupported scheme: use npm:, jsr: or a local file path`);
  } else if (!LOCAL_RE.test(pkg)) {
    c.add(
      "package",
      `"${pkg}" is not a local module: use a path starting with ./, ../ or / ending in .ts or .js`,
    );
  }
}

/**
 * Placeholders the launcher fills in itself. `${package_dir}`: the server's own npm package
 * folder in its code cache (read-only; for servers that read their own package.json or data
 * files with `fs`). Allowed only in `permissions.read`.
 */
export const BUILTIN_PLACEHOLDERS: readonly string[] = ["package_dir"];

function checkPlaceholders(
  c: Checker,
  text: string,
  path: string,
  parameters: Record<string, ParameterSpec>,
): void {
  const names = placeholders(text);
  for (const name of names) {
    if (BUILTIN_PLACEHOLDERS.includes(name)) {
      if (!path.startsWith("permissions.read[") || text !== `\${${name}}`) {
        c.add(path, `"\${${name}}" may only stand alone in permissions.read`);
      } else if (name in parameters) {
        c.add(path, `"${name}" is filled in by the launcher; rename the parameter`);
      }
    } else if (!(name in parameters)) {
      c.add(path, `"\${${name}}" names no parameter; declare "${name}" under "parameters"`);
    } else if (parameters[name].type.endsWith("[]") && text !== `\${${name}}`) {
      c.add(
        path,
        `list parameter "${name}" must stand alone as "\${${name}}" to expand into several values`,
      );
    }
  }
}

function checkGrant(
  c: Checker,
  kind: keyof ManifestPermissions,
  entry: string,
  path: string,
  parameters: Record<string, ParameterSpec>,
): void {
  const names = placeholders(entry);
  if (entry.trim() === "" || entry === "*" || entry.toLowerCase() === "all") {
    c.add(path, `"${entry}" would grant everything; list exact ${kind} entries instead`);
    return;
  }
  if (entry.includes(",")) {
    c.add(path, `"${entry}" contains a comma; give one entry per list item`);
  }
  if (kind === "env") {
    if (names.length > 0) c.add(path, "environment names cannot come from parameters");
    else if (!ENV_ENTRY_RE.test(entry)) {
      c.add(path, `"${entry}" is not an environment name or PREFIX_* pattern`);
    } else if (isReservedEnvName(entry)) {
      c.add(path, `"${entry}" is reserved for the launcher and is never passed to a server`);
    }
  } else if (kind === "sys") {
    if (!SYS_NAMES.includes(entry)) {
      c.add(path, `"${entry}" is not a Deno sys API; use one of ${SYS_NAMES.join(", ")}`);
    }
  } else if ((kind === "read" || kind === "write") && names.length === 0) {
    if (!entry.startsWith("/") && !entry.startsWith("~/")) {
      c.add(path, `"${entry}" must be an absolute path, start with ~/, or use a parameter`);
    }
  } else if (kind === "net" && names.length > 0) {
    for (const name of names) {
      const type = parameters[name]?.type;
      if (type && type !== "host" && type !== "host[]") {
        c.add(path, `net entries can only use host parameters; "${name}" is ${type}`);
      }
    }
  } else if ((kind === "read" || kind === "write") && names.length > 0) {
    for (const name of names) {
      if (BUILTIN_PLACEHOLDERS.includes(name)) continue;
      const type = parameters[name]?.type;
      if (type && type !== "path" && type !== "path[]") {
        c.add(path, `${kind} entries can only use path parameters; "${name}" is ${type}`);
      }
    }
  }
}

function envSpecs(
  c: Checker,
  value: Json | undefined,
  path: string,
  parameters: Record<string, ParameterSpec>,
): Record<string, EnvSpec> {
  const out: Record<string, EnvSpec> = {};
  const obj = c.object(value, path) ?? {};
  for (const [key, spec] of Object.entries(obj)) {
    const p = `${path}.${key}`;
    if (!ENV_NAME_RE.test(key)) c.add(p, `"${key}" is not a valid environment variable name`);
    else if (isReservedEnvName(key)) {
      c.add(p, `"${key}" is reserved for the launcher and is never passed to a server`);
    }
    const s = c.object(spec, p);
    if (!s) continue;
    c.keys(s, p, path === "env" ? MANIFEST_FIELDS.env : MANIFEST_FIELDS.secret);
    out[key] = {
      description: c.string(s.description, `${p}.description`, true) ?? "",
      required: c.boolean(s.required, `${p}.required`) ?? false,
    };
    const fixed = path === "env" ? c.string(s.value, `${p}.value`, false) : undefined;
    if (fixed !== undefined) {
      checkPlaceholders(c, fixed, `${p}.value`, parameters);
      out[key].value = fixed;
    }
  }
  return out;
}
