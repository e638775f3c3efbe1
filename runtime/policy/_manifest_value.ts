/**
 * The checks of a manifest's parsed value: every field, with a problem and its JSON path for
 * each thing wrong. Reading the text (JSONC, lines and columns) is left to the callers.
 *
 * @module
 */
import { Checker, type Json } from "./_manifest_checker.ts";
import {
  MANIFEST_FIELDS,
  MANIFEST_PATTERNS,
  PARAMETER_TYPES,
  type ParameterType,
  PERMISSION_KINDS,
  SYS_NAMES,
} from "./manifest_schema.ts";
import { isReservedEnvName } from "./env_policy.ts";
import { packageKind, packageProblem } from "./package_kind.ts";
import { checkGuardFields } from "./_manifest_guard.ts";
import { limitsProblem } from "../sandbox/resource_caps.ts";
import type {
  EnvSpec,
  Manifest,
  ManifestPermissions,
  ManifestProblem,
  ParameterSpec,
} from "./manifest.ts";

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
 * Checks a manifest's parsed value.
 *
 * @param raw The parsed JSONC value.
 * @param problems Problems already found in its text (duplicate keys), reported first.
 * @returns The manifest with defaults filled in, when there are no problems; every problem.
 */
export function manifestFromValue(
  raw: Json | undefined,
  problems: ManifestProblem[] = [],
): { manifest?: Manifest; problems: ManifestProblem[] } {
  const c = new Checker();
  c.problems.push(...problems);
  const root = c.object(raw ?? null, "");
  if (!root) return { problems: c.problems };
  c.keys(root, "", MANIFEST_FIELDS.root);

  const { name, description, pkg, homepage, image } = checkIdentity(c, root);
  const parameters = checkParameters(c, root.parameters);

  const args = c.strings(root.args, "args");
  args.forEach((arg, i) => checkPlaceholders(c, arg, `args[${i}]`, parameters));

  const permissions = checkPermissions(c, root.permissions, parameters);

  const env = envSpecs(c, root.env, "env", parameters);
  const secrets = envSpecs(c, root.secrets, "secrets", parameters);
  for (const key of Object.keys(secrets)) {
    if (key in env) c.add(`secrets.${key}`, `"${key}" is declared in both env and secrets`);
  }

  const guard = checkGuardFields(c, root);
  const limitsError = root.limits === undefined ? undefined : limitsProblem(root.limits);
  if (limitsError) c.add("limits", limitsError);

  if (c.problems.length > 0) return { problems: c.problems };
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
  if (image !== undefined) manifest.image = image;
  if (guard.tools !== undefined) manifest.tools = guard.tools;
  if (guard.scan !== undefined) manifest.scan = guard.scan;
  if (root.limits !== undefined) manifest.limits = root.limits as Manifest["limits"];
  return { manifest, problems: [] };
}

/** The fields that say what the server is and where its code comes from. */
function checkIdentity(
  c: Checker,
  root: Record<string, Json>,
): { name: string; description: string; pkg: string; homepage?: string; image?: string } {
  const name = c.string(root.name, "name", true) ?? "";
  if (root.name !== undefined && typeof root.name === "string" && !NAME_RE.test(name)) {
    c.add("name", `"${name}" is not a valid name: use lowercase letters, digits and dashes`);
  }
  const description = c.string(root.description, "description", true) ?? "";
  const pkg = c.string(root.package, "package", true) ?? "";
  if (typeof root.package === "string") checkPackage(c, pkg);
  const homepage = c.string(root.homepage, "homepage", false);
  const image = c.string(root.image, "image", false);
  if (image !== undefined && !/^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$/.test(image)) {
    c.add("image", `"${image}" is not an image pinned by digest: write name@sha256:<64 hex>`);
  } else if (image !== undefined && !pkg.startsWith("pypi:")) {
    c.add("image", "only a pypi: package chooses its image (an oci: package is one)");
  }
  return { name, description, pkg, homepage, image };
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
  } else if (packageKind(pkg) === "pypi" || packageKind(pkg) === "oci") {
    const problem = packageProblem(pkg);
    if (problem) c.add("package", problem);
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(pkg)) {
    c.add(
      "package",
      `"${pkg}" uses an unsupported scheme: use npm:, jsr:, pypi:, oci: or a local file path`,
    );
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
