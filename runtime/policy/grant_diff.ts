/**
 * Differences between two manifests' grants, for upgrades: what a new version may touch that
 * the old one could not, in plain words.
 *
 * @module
 */
import type { Manifest, ManifestPermissions } from "./manifest.ts";

/** Something a server gains or loses. */
export interface GrantChange {
  /** `added` widens what the server may touch; `removed` narrows it. */
  change: "added" | "removed";
  /** The kind of access. */
  kind:
    | keyof ManifestPermissions
    | "secret"
    | "setting"
    | "package"
    | "default"
    | "argument"
    | "value"
    | "limit";
  /** The entry, as written in the manifest. */
  value: string;
}

const KINDS: (keyof ManifestPermissions)[] = ["run", "ffi", "read", "write", "net", "env", "sys"];

function setDiff(kind: GrantChange["kind"], before: string[], after: string[]): GrantChange[] {
  const a = new Set(before);
  const b = new Set(after);
  return [
    ...[...b].filter((v) => !a.has(v)).sort().map((value) => ({
      change: "added" as const,
      kind,
      value,
    })),
    ...[...a].filter((v) => !b.has(v)).sort().map((value) => ({
      change: "removed" as const,
      kind,
      value,
    })),
  ];
}

/**
 * Compares the grants of two manifests (usually two versions of one server).
 *
 * @param before The manifest in use.
 * @param after The candidate.
 * @returns Every added and removed grant, secret and setting; a package change is listed too.
 * @example
 * ```ts
 * import { parseManifest } from "./manifest_text.ts";
 * import { diffGrants } from "./grant_diff.ts";
 * const v1 = parseManifest(`{"name": "x", "description": "d", "package": "npm:x@1.0.0"}`);
 * const v2 = parseManifest(`{"name": "x", "description": "d", "package": "npm:x@2.0.0",
 *   "permissions": {"net": ["api.example.com"]}}`);
 * console.log(diffGrants(v1, v2).filter((c) => c.kind === "net"));
 * // [{ change: "added", kind: "net", value: "api.example.com" }]
 * ```
 */
export function diffGrants(before: Manifest, after: Manifest): GrantChange[] {
  const changes: GrantChange[] = [];
  if (before.package !== after.package) {
    changes.push({ change: "removed", kind: "package", value: before.package });
    changes.push({ change: "added", kind: "package", value: after.package });
  }
  for (const kind of KINDS) {
    changes.push(...setDiff(kind, before.permissions[kind], after.permissions[kind]));
  }
  changes.push(...setDiff("secret", Object.keys(before.secrets), Object.keys(after.secrets)));
  changes.push(...setDiff("setting", Object.keys(before.env), Object.keys(after.env)));
  // What the manifest itself fills in decides grants as much as the entries do: a parameter's
  // default expands into paths and hosts, arguments and fixed values reach the server.
  changes.push(...setDiff("default", defaults(before), defaults(after)));
  if (JSON.stringify(before.args) !== JSON.stringify(after.args)) {
    changes.push(...setDiff("argument", [before.args.join(" ")], [after.args.join(" ")]));
  }
  changes.push(...setDiff("value", fixedValues(before), fixedValues(after)));
  // A bigger memory cap lets the server take more of the machine: a widening to approve.
  changes.push(...limitChanges(before.limits ?? {}, after.limits ?? {}));
  return changes;
}

/** Each parameter default as `name=value`. */
function defaults(manifest: Manifest): string[] {
  return Object.entries(manifest.parameters).flatMap(([name, spec]) =>
    spec.default === undefined ? [] : [`${name}=${JSON.stringify(spec.default)}`]
  );
}

/** Each memory cap a manifest raises (`added`) or no longer raises as far (`removed`). */
function limitChanges(
  before: NonNullable<Manifest["limits"]>,
  after: NonNullable<Manifest["limits"]>,
): GrantChange[] {
  return (["heapMb", "memoryMb"] as const).flatMap((key): GrantChange[] => {
    const [was, is] = [before[key] ?? 0, after[key] ?? 0];
    if (is > was) return [{ change: "added", kind: "limit", value: `${key} ${is} MiB` }];
    if (is < was) return [{ change: "removed", kind: "limit", value: `${key} ${was} MiB` }];
    return [];
  });
}

/** Each fixed environment value as `NAME=value`. */
function fixedValues(manifest: Manifest): string[] {
  return Object.entries(manifest.env).flatMap(([name, spec]) =>
    spec.value === undefined ? [] : [`${name}=${spec.value}`]
  );
}

/**
 * Tells whether any change gives the server more access (a package change alone does not).
 *
 * @param changes Output of {@linkcode diffGrants}.
 * @returns `true` when something was added.
 */
export function widensGrants(changes: GrantChange[]): boolean {
  return changes.some((c) => c.change === "added" && c.kind !== "package");
}

const WORDS: Record<GrantChange["kind"], [string, string]> = {
  run: ["may now START PROGRAMS", "no longer starts programs"],
  ffi: ["may now LOAD NATIVE LIBRARIES", "no longer loads native libraries"],
  read: ["may now read", "no longer reads"],
  write: ["may now write", "no longer writes"],
  net: ["may now reach", "no longer reaches"],
  env: ["may now read the variable", "no longer reads the variable"],
  sys: ["may now read system information", "no longer reads system information"],
  secret: ["now receives the secret", "no longer receives the secret"],
  setting: ["now reads the setting", "no longer reads the setting"],
  package: ["runs", "instead of"],
  default: ["now defaults", "no longer defaults"],
  argument: ["now starts with the arguments", "no longer starts with the arguments"],
  value: ["now sets", "no longer sets"],
  limit: ["may now use memory up to", "no longer asks for memory up to"],
};

/**
 * Describes grant changes in plain words, widening first.
 *
 * @param changes Output of {@linkcode diffGrants}.
 * @returns Lines such as `+ may now reach api.example.com`; `No change in what it may touch`
 *   when only the package changed or nothing did.
 */
export function describeGrantDiff(changes: GrantChange[]): string[] {
  const lines: string[] = [];
  const pkg = changes.filter((c) => c.kind === "package");
  if (pkg.length === 2) {
    const to = pkg.find((c) => c.change === "added")!.value;
    const from = pkg.find((c) => c.change === "removed")!.value;
    lines.push(`package: ${from} -> ${to}`);
  }
  const rest = changes.filter((c) => c.kind !== "package");
  for (const c of rest.filter((c) => c.change === "added")) {
    lines.push(`+ ${WORDS[c.kind][0]} ${c.value}`);
  }
  for (const c of rest.filter((c) => c.change === "removed")) {
    lines.push(`- ${WORDS[c.kind][1]} ${c.value}`);
  }
  if (rest.length === 0) lines.push("No change in what it may touch");
  return lines;
}
