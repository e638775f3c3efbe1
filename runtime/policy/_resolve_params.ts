/**
 * The user's parameter values, checked against the manifest's declarations: paths made
 * absolute and canonical, hosts validated, numbers and booleans checked.
 *
 * @module
 */
import { join, resolve as resolvePath } from "../_path.ts";
import type { Manifest, ParameterSpec } from "./manifest.ts";
import { formatNetGrant, parseNetGrant } from "./net_policy.ts";
import { GrantError } from "./grant_error.ts";
import { canonicalPath } from "./_grant_paths.ts";

/** Where relative and `~` paths are resolved, and how paths are made canonical. */
export interface ParamContext {
  /** Folder relative paths are resolved against. */
  cwd: string;
  /** The canonical home folder, for `~` and `~/…`. */
  home: string;
  /** Canonicalizes an existing path. */
  realPath: (path: string) => string;
}

/**
 * Checks and normalises the user's parameter values, filling in defaults.
 *
 * @param manifest The manifest that declares the parameters.
 * @param given The user's values by name.
 * @param ctx Folders and how to canonicalize paths.
 * @returns Every parameter that has a value, as a list of values.
 * @throws {GrantError} For an unknown parameter, a missing required one, or a wrong value.
 */
export function resolveParams(
  manifest: Manifest,
  given: Record<string, string | string[]>,
  ctx: ParamContext,
): Record<string, string[]> {
  for (const name of Object.keys(given)) {
    if (!(name in manifest.parameters)) {
      const known = Object.keys(manifest.parameters);
      throw new GrantError(
        `-p ${name}`,
        `"${manifest.name}" has no parameter "${name}"` +
          (known.length ? `; its parameters are ${known.join(", ")}` : "; it takes no parameters"),
      );
    }
  }
  const out: Record<string, string[]> = {};
  const missing: string[] = [];
  for (const [name, spec] of Object.entries(manifest.parameters)) {
    const raw = given[name] ?? spec.default;
    const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    if (values.length === 0) {
      if (spec.required) missing.push(`  -p ${name}=${placeholderHint(spec)}  ${spec.description}`);
      continue;
    }
    if (!spec.type.endsWith("[]") && values.length > 1) {
      throw new GrantError(
        `-p ${name}`,
        `Parameter "${name}" takes one value, got ${values.length}`,
      );
    }
    out[name] = values.map((v) => checkParam(name, spec, v, ctx));
  }
  if (missing.length > 0) {
    throw new GrantError(
      `-p ${missing[0].trim().split(/[ =]/)[1]}`,
      `"${manifest.name}" needs ${missing.length === 1 ? "a parameter" : "parameters"}:\n${
        missing.join("\n")
      }`,
    );
  }
  return out;
}

function placeholderHint(spec: ParameterSpec): string {
  if (spec.type.startsWith("path")) return "/some/folder";
  if (spec.type.startsWith("host")) return "host:port";
  return spec.type === "number" ? "42" : "VALUE";
}

function checkParam(name: string, spec: ParameterSpec, value: string, ctx: ParamContext): string {
  const field = `-p ${name}`;
  const base = spec.type.replace("[]", "");
  if (value.includes("\0")) throw new GrantError(field, `Parameter "${name}" contains a NUL byte`);
  if (base === "path") {
    if (value === "") throw new GrantError(field, `Parameter "${name}" is an empty path`);
    const expanded = value === "~"
      ? ctx.home
      : value.startsWith("~/")
      ? join(ctx.home, value.slice(2))
      : value;
    return canonicalPath(resolvePath(ctx.cwd, expanded), field, ctx.realPath);
  }
  if (base === "host") {
    try {
      return formatNetGrant(parseNetGrant(value));
    } catch (error) {
      throw new GrantError(field, (error as Error).message, { cause: error });
    }
  }
  if (base === "number" && !/^-?\d+(\.\d+)?$/.test(value)) {
    throw new GrantError(field, `Parameter "${name}" must be a number, got "${value}"`);
  }
  if (base === "boolean" && value !== "true" && value !== "false") {
    throw new GrantError(field, `Parameter "${name}" must be true or false, got "${value}"`);
  }
  return value;
}
