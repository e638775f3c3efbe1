/**
 * Mapping a recognised package onto a manifest: which catalogue server it is, which parameters
 * its arguments and environment give, which of its variables are secrets (whose values leave the
 * client's file) and how its version differs. Pure.
 *
 * @module
 */
import type { Manifest } from "../policy/manifest.ts";
import { normalizePypiName } from "../policy/package_kind.ts";
import type { AdoptPackage } from "./adopt_entry.ts";

/** A manifest a package can be mapped onto (a catalogue entry, or an approved draft). */
export interface AdoptManifest {
  /** What `mcp-run` is given: a registry name or a manifest path. */
  target: string;
  /** The manifest. */
  manifest: Manifest;
}

/** How an entry maps onto a manifest. */
export interface AdoptMapping {
  /** The registry name or manifest path the new entry runs. */
  target: string;
  /** Parameters taken from the entry's arguments and environment (`-p name=value`). */
  params: Record<string, string[]>;
  /** Arguments no manifest argument takes, passed on after `--`. */
  extraArgs: string[];
  /** The entry's variables the manifest declares: plain values are kept, secrets referenced. */
  env: Record<string, string>;
  /** Secrets whose values were in the entry: they leave the file for the client's store. */
  secrets: string[];
  /** Variables the manifest does not declare, left out of the new entry. */
  dropped: string[];
  /** Sentences for the plan: version differences, values left out. */
  notes: string[];
  /** Why the entry cannot be mapped (a required parameter has no value), if it cannot. */
  problem?: string;
}

/** The package name and version a manifest's `package` names, by kind. */
function manifestPackage(
  spec: string,
): { kind: string; name: string; version: string; bin?: string } {
  const scheme = /^(npm|jsr|pypi|oci):/.exec(spec)?.[1] ?? "local";
  const rest = scheme === "local" ? spec : spec.slice(scheme.length + 1);
  if (scheme === "oci") {
    const at = rest.indexOf("@");
    return { kind: scheme, name: rest.slice(0, at), version: rest.slice(at + 1) };
  }
  const at = rest.indexOf("@", 1);
  if (at === -1) return { kind: scheme, name: rest, version: "" };
  const [version, bin] = rest.slice(at + 1).split(/\/(.*)/s, 2);
  return { kind: scheme, name: rest.slice(0, at), version, ...(bin ? { bin } : {}) };
}

/** Names compared as their registries compare them. */
function sameName(kind: string, a: string, b: string): boolean {
  if (kind === "pypi") return normalizePypiName(a) === normalizePypiName(b);
  if (kind === "oci") {
    const bare = (n: string) => n.toLowerCase().replace(/^(docker\.io\/)?(library\/)?/, "");
    return bare(a) === bare(b);
  }
  return kind === "npm" ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/**
 * The manifest among `manifests` whose package is the one the entry runs (same kind and name,
 * any version).
 *
 * @param pkg The recognised package.
 * @param manifests Catalogue entries (and approved drafts).
 * @returns The first match, or undefined.
 * @example
 * ```ts
 * import { findManifest } from "./adopt_plan.ts";
 * import { parseManifest } from "../policy/manifest_text.ts";
 * const manifest = parseManifest(
 *   '{"name": "time", "description": "t", "package": "pypi:mcp-server-time@2026.10.19"}',
 * );
 * const pkg = { kind: "pypi" as const, name: "mcp_server_time", args: [], env: {}, passEnv: [], via: "uvx" };
 * console.assert(findManifest(pkg, [{ target: "time", manifest }])?.target === "time");
 * ```
 */
export function findManifest(
  pkg: AdoptPackage,
  manifests: readonly AdoptManifest[],
): AdoptManifest | undefined {
  return manifests.find(({ manifest }) => {
    const m = manifestPackage(manifest.package);
    return m.kind === pkg.kind && sameName(pkg.kind, m.name, pkg.name) && sameBin(m, pkg);
  });
}

/**
 * Whether the manifest runs the bin the entry runs. Without a bin npm runs the one named like
 * the package (unscoped), so that name matches no bin.
 */
function sameBin(m: { name: string; bin?: string }, pkg: AdoptPackage): boolean {
  if (pkg.kind !== "npm") return true;
  const unscoped = m.name.split("/").pop()!;
  return (m.bin ?? unscoped) === (pkg.bin ?? unscoped);
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A template as a full-match regex with one group per parameter, and those parameters. */
function templateRegex(template: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  let source = "";
  let at = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    source += escape(template.slice(at, m.index)) + "(.+?)";
    names.push(m[1]);
    at = m.index! + m[0].length;
  }
  source += escape(template.slice(at));
  return { re: new RegExp(`^${source}$`, "s"), names };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Built-in placeholders the launcher fills itself. */
const BUILT_IN = new Set(["package_dir", "home"]);

/**
 * Map an entry's package onto a manifest: parameters from its arguments (a manifest argument
 * `${dirs}` of a list parameter takes every remaining positional argument, `--tz=${zone}` takes
 * the argument of that shape, a literal takes itself) and from its environment (a manifest
 * variable with a `${param}` value gives the parameter back); variables the manifest declares
 * as secrets become secrets; the version difference is noted.
 *
 * @param pkg The recognised package (with its resolved version, if known).
 * @param target The manifest and how to name it.
 * @returns The mapping; `problem` is set when a required parameter has no value.
 * @example
 * ```ts
 * import { mapToManifest } from "./adopt_plan.ts";
 * import { parseManifest } from "../policy/manifest_text.ts";
 * const manifest = parseManifest(JSON.stringify({
 *   name: "filesystem", description: "files", package: "npm:fs-server@1.0.0", args: ["${dirs}"],
 *   parameters: { dirs: { type: "path[]", description: "folders", required: true } },
 * }));
 * const pkg = { kind: "npm" as const, name: "fs-server", args: ["/a", "/b"], env: {}, passEnv: [], via: "npx" };
 * const m = mapToManifest(pkg, { target: "filesystem", manifest });
 * console.assert(m.params.dirs.join() === "/a,/b");
 * ```
 */
export function mapToManifest(pkg: AdoptPackage, target: AdoptManifest): AdoptMapping {
  const { manifest } = target;
  const params: Record<string, string[]> = {};
  const notes: string[] = [];
  const rest = argumentParams(manifest, pkg.args, params);
  envParams(manifest, pkg.env, params);
  const env: Record<string, string> = {};
  const secrets: string[] = [];
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(pkg.env)) {
    if (name in manifest.secrets) {
      secrets.push(name);
      env[name] = value;
    } else if (name in manifest.env && manifest.env[name].value === undefined) env[name] = value;
    else if (!(name in manifest.env)) dropped.push(name);
  }
  for (const name of pkg.passEnv) {
    if (!(name in manifest.env) && !(name in manifest.secrets)) dropped.push(name);
  }
  if (dropped.length > 0) {
    notes.push(
      `left out ${dropped.join(", ")}: the manifest does not declare ${
        dropped.length === 1 ? "it" : "them"
      }, so the sandboxed server would not see ${dropped.length === 1 ? "it" : "them"}`,
    );
  }
  const version = manifestPackage(manifest.package).version;
  const had = pkg.version ?? pkg.wanted;
  if (had !== version) {
    notes.push(
      `the entry ran ${pkg.name}${had ? ` ${had}` : " (no version: the newest)"}; ` +
        `${target.target} pins ${version}`,
    );
  }
  if (rest.length > 0) notes.push(`passes ${rest.join(" ")} on to the server after --`);
  const exposed = exposedSecrets(manifest, env, pkg.env);
  const missing = Object.entries(manifest.parameters)
    .filter(([n, p]) => p.required && p.default === undefined && params[n] === undefined)
    .map(([n, p]) => `${n} (${p.description})`);
  const problem = exposed.length > 0
    ? `${exposed.join(", ")} ${exposed.length === 1 ? "holds" : "hold"} what looks like a ` +
      `secret (a password in a URL, or a token), but ${target.target} declares ` +
      `${exposed.length === 1 ? "it" : "them"} as plain settings, which the new entry would ` +
      "write into the file: declare them under secrets in the manifest, then adopt again"
    : missing.length === 0
    ? undefined
    : `${target.target} needs ${
      missing.join(", ")
    }, which the entry does not give: install it with -p`;
  return {
    target: target.target,
    params,
    extraArgs: rest,
    env,
    secrets,
    dropped,
    notes,
    ...(problem ? { problem } : {}),
  };
}

/**
 * The entry's variables whose values the new entry would write as they are (plain variables,
 * or parameters taken from them) although they look like secrets.
 */
function exposedSecrets(
  manifest: Manifest,
  kept: Record<string, string>,
  all: Record<string, string>,
): string[] {
  return Object.keys(all).filter((name) =>
    !(name in manifest.secrets) && looksSecret(all[name]) &&
    (name in kept || manifest.env[name]?.value !== undefined)
  );
}

/**
 * Whether a value looks like a secret whatever its variable is called: a URL with a password
 * (`postgres://u:pass@host`), or a long token-like string (letters and digits, high entropy).
 *
 * @param value A variable's value.
 * @returns True when the value should be handled as a secret.
 * @example
 * ```ts
 * import { looksSecret } from "./adopt_plan.ts";
 * console.assert(looksSecret("postgres://app:hunter2@db:5432/app"));
 * console.assert(!looksSecret("Europe/Paris"));
 * ```
 */
export function looksSecret(value: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:[^/@\s]+@/i.test(value)) return true;
  if (!/^[A-Za-z0-9_\-+/=.]{20,}$/.test(value) || /^[./~]/.test(value)) return false;
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / value.length) * Math.log2(n / value.length);
  return bits >= 3.5;
}

/** Fill `params` from the arguments; returns the arguments no manifest argument took. */
function argumentParams(
  manifest: Manifest,
  args: string[],
  params: Record<string, string[]>,
): string[] {
  const used = new Array(args.length).fill(false);
  const bare: string[] = [];
  for (const template of manifest.args) {
    const single = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(template);
    if (single) {
      bare.push(single[1]);
      continue;
    }
    const { re, names } = templateRegex(template);
    const i = args.findIndex((a, k) => !used[k] && re.test(a));
    if (i === -1) continue;
    used[i] = true;
    const groups = re.exec(args[i])!.slice(1);
    names.forEach((n, k) => {
      if (!BUILT_IN.has(n)) (params[n] ??= []).push(groups[k]);
    });
  }
  for (const name of bare) {
    if (BUILT_IN.has(name)) continue;
    const list = manifest.parameters[name]?.type.endsWith("[]") ?? false;
    for (let k = 0; k < args.length; k++) {
      if (used[k] || args[k].startsWith("-")) continue;
      used[k] = true;
      (params[name] ??= []).push(args[k]);
      if (!list) break;
    }
  }
  return args.filter((_, k) => !used[k]);
}

/** Fill `params` from variables whose manifest value is a template of parameters. */
function envParams(
  manifest: Manifest,
  env: Record<string, string>,
  params: Record<string, string[]>,
): void {
  for (const [name, spec] of Object.entries(manifest.env)) {
    if (spec.value === undefined || env[name] === undefined) continue;
    const { re, names } = templateRegex(spec.value);
    const groups = re.exec(env[name])?.slice(1);
    if (!groups) continue;
    names.forEach((n, k) => {
      if (!BUILT_IN.has(n) && params[n] === undefined) params[n] = [groups[k]];
    });
  }
}
