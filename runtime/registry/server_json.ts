/**
 * Interop with the official MCP registry's `server.json`, which has no permission fields: a
 * manifest is exported with its complete permissions under `_meta`, and imported back. A
 * `server.json` without them imports only as a draft that must be completed — never as "needs
 * no permissions".
 *
 * @module
 */
import type { Manifest } from "../policy/manifest.ts";
import { parseManifest } from "../policy/manifest_text.ts";

/** The server.json schema version written by {@linkcode toServerJson}. */
export const SERVER_JSON_SCHEMA =
  "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json";

/** The `_meta` key the official registry keeps for publishers. */
export const PUBLISHER_META = "io.modelcontextprotocol.registry/publisher-provided";

/** Our key inside the publisher-provided `_meta`. */
export const MCP_RUN_META = "run.sandboxed/mcp-run";

/** An environment variable in server.json. */
export interface ServerJsonEnvironmentVariable {
  name: string;
  description?: string;
  isRequired?: boolean;
  isSecret?: boolean;
  value?: string;
}

/** A positional package argument in server.json. */
export interface ServerJsonArgument {
  type: "positional" | "named";
  name?: string;
  value?: string;
  valueHint?: string;
  description?: string;
  isRequired?: boolean;
}

/** A package in server.json (the subset this module reads and writes). */
export interface ServerJsonPackage {
  registryType: string;
  registryBaseUrl?: string;
  /** The package's name (npm, PyPI), or the image reference with its tag or digest (OCI). */
  identifier: string;
  /** The package's version (absent for OCI, whose reference says it). */
  version?: string;
  transport: { type: string };
  packageArguments?: ServerJsonArgument[];
  environmentVariables?: ServerJsonEnvironmentVariable[];
}

/** A server.json document (the subset this module reads and writes). */
export interface ServerJson {
  $schema?: string;
  name: string;
  description: string;
  version: string;
  websiteUrl?: string;
  packages?: ServerJsonPackage[];
  _meta?: Record<string, unknown>;
}

/** Options for {@linkcode toServerJson}. */
export interface ToServerJsonOptions {
  /** Reverse-DNS namespace for the server name (default `io.github.sandboxed`). */
  namespace?: string;
}

/**
 * Exports a manifest as a server.json with the whole manifest under
 * `_meta["io.modelcontextprotocol.registry/publisher-provided"]["run.sandboxed/mcp-run"]`.
 *
 * npm, PyPI and OCI packages are listed in `packages` (registry types `npm`, `pypi`, `oci`; an
 * image keeps its digest in `identifier`); JSR packages are not a server.json registry type, so
 * they live only in the `_meta` manifest.
 *
 * @param manifest A validated manifest.
 * @param options Name namespace.
 * @returns The server.json object.
 * @example
 * ```ts
 * import { parseManifest } from "../policy/manifest_text.ts";
 * import { toServerJson } from "./server_json.ts";
 * const m = parseManifest(`{"name": "gh", "description": "GitHub", "package": "npm:gh-mcp@1.2.3",
 *   "permissions": {"net": ["api.github.com"]}}`);
 * console.log(toServerJson(m).packages?.[0].identifier); // "gh-mcp"
 * ```
 */
export function toServerJson(manifest: Manifest, options: ToServerJsonOptions = {}): ServerJson {
  const listed = listedPackage(manifest.package);
  const out: ServerJson = {
    $schema: SERVER_JSON_SCHEMA,
    name: `${options.namespace ?? "io.github.sandboxed"}/${manifest.name}`,
    description: manifest.description.slice(0, 100),
    version: listed?.version ?? /^jsr:@[^/@]+\/[^/@]+@([^/]+)/.exec(manifest.package)?.[1] ??
      "0.0.0",
  };
  if (manifest.homepage) out.websiteUrl = manifest.homepage;
  if (listed) {
    const env: ServerJsonEnvironmentVariable[] = [
      ...Object.entries(manifest.env).map(([name, spec]) => ({
        name,
        description: spec.description,
        isRequired: spec.required,
        isSecret: false,
        ...(spec.value !== undefined ? { value: spec.value } : {}),
      })),
      ...Object.entries(manifest.secrets).map(([name, spec]) => ({
        name,
        description: spec.description,
        isRequired: spec.required,
        isSecret: true,
      })),
    ];
    const pkg: ServerJsonPackage = { ...listed.pkg, transport: { type: "stdio" } };
    if (manifest.args.length) {
      pkg.packageArguments = manifest.args.map((value) => ({ type: "positional", value }));
    }
    if (env.length) pkg.environmentVariables = env;
    out.packages = [pkg];
  }
  const { ...copy } = manifest;
  out._meta = { [PUBLISHER_META]: { [MCP_RUN_META]: copy } };
  return out;
}

/** The server.json package entry of a manifest's package, for the registry types it lists. */
function listedPackage(
  spec: string,
): { pkg: Omit<ServerJsonPackage, "transport">; version: string } | undefined {
  const npm = /^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)/.exec(spec);
  if (npm) {
    return {
      pkg: {
        registryType: "npm",
        registryBaseUrl: "https://registry.npmjs.org",
        identifier: npm[1],
        version: npm[2],
      },
      version: npm[2],
    };
  }
  // pypi:NAME[EXTRAS]@VERSION[/SCRIPT]: server.json names the distribution and version only.
  const pypi = /^pypi:([^@[\]]+)(?:\[[^\]]*\])?@([^/]+)/.exec(spec);
  if (pypi) {
    return {
      pkg: {
        registryType: "pypi",
        registryBaseUrl: "https://pypi.org",
        identifier: pypi[1],
        version: pypi[2],
      },
      version: pypi[2],
    };
  }
  const oci = /^oci:(.+@sha256:([0-9a-f]{64}))$/.exec(spec);
  if (oci) {
    return {
      pkg: { registryType: "oci", identifier: oci[1] },
      version: "0.0.0",
    };
  }
  return undefined;
}

/** The manifest package of a server.json package entry, or why there is none yet. */
function importedPackage(pkg: ServerJsonPackage | undefined): { spec?: string; todo?: string } {
  if (pkg?.registryType === "npm") return { spec: `npm:${pkg.identifier}@${pkg.version}` };
  if (pkg?.registryType === "pypi") {
    if (pkg.version && /^[0-9][0-9A-Za-z.+!-]*$/.test(pkg.version)) {
      return { spec: `pypi:${pkg.identifier}@${pkg.version}` };
    }
    return {
      todo: `package: give the exact version of the PyPI package ${pkg.identifier} ` +
        `(pypi:${pkg.identifier}@1.2.3; the server.json says ${JSON.stringify(pkg.version)})`,
    };
  }
  if (pkg?.registryType === "oci") {
    if (/@sha256:[0-9a-f]{64}$/.test(pkg.identifier)) return { spec: `oci:${pkg.identifier}` };
    return {
      todo: `package: pin the image ${pkg.identifier} by digest (oci:IMAGE@sha256:…): run ` +
        `docker pull ${pkg.identifier}, then docker image inspect --format ` +
        "'{{index .RepoDigests 0}}' on it",
    };
  }
  return { todo: "package: only npm, jsr, pypi and oci packages run under mcp-run" };
}

/** The result of {@linkcode fromServerJson}. */
export interface ImportedServer {
  /** The manifest, present only when the server.json carried complete mcp-run permissions. */
  manifest?: Manifest;
  /** Whether the result is a draft that must be completed before use. */
  draft: boolean;
  /** JSONC text to save: the manifest, or a draft that does not validate until completed. */
  text: string;
  /** What a person must still decide (empty for complete imports). */
  todo: string[];
}

function draftName(name: string): string {
  const last = name.split("/").pop() ?? name;
  const clean = last.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return clean || "server";
}

/**
 * Imports a server.json. With mcp-run permissions under `_meta` it yields a validated manifest;
 * without them, a draft: package, arguments, settings and secrets filled in from the
 * server.json, and `"permissions"` left as a TODO string so the draft fails validation until a
 * person declares what the server may read, write and reach.
 *
 * @param json The parsed server.json.
 * @returns The manifest or draft.
 * @throws {TypeError} When the document is not a server.json.
 * @throws {ManifestError} When the `_meta` manifest is present but invalid.
 * @example
 * ```ts
 * import { fromServerJson } from "./server_json.ts";
 * const imported = fromServerJson({
 *   name: "io.github.acme/weather", description: "Weather", version: "1.0.0",
 *   packages: [{ registryType: "npm", identifier: "weather-mcp", version: "1.0.0",
 *     transport: { type: "stdio" } }],
 * });
 * console.log(imported.draft); // true
 * ```
 */
export function fromServerJson(json: ServerJson): ImportedServer {
  if (!json || typeof json !== "object" || typeof json.name !== "string") {
    throw new TypeError('Cannot import: not a server.json (it has no "name")');
  }
  const meta = (json._meta?.[PUBLISHER_META] as Record<string, unknown> | undefined)?.[
    MCP_RUN_META
  ];
  if (meta !== undefined) {
    const text = JSON.stringify({ $schema: "./manifest.schema.json", ...meta as object }, null, 2) +
      "\n";
    const manifest = parseManifest(text, { file: `${json.name} (server.json _meta)` });
    return { manifest, draft: false, text, todo: [] };
  }
  const known = ["npm", "pypi", "oci"];
  const pkg = json.packages?.find((p) => known.includes(p.registryType)) ?? json.packages?.[0];
  const todo = [
    "permissions: declare what the server reads, writes and reaches (server.json does not say)",
  ];
  const draft: Record<string, unknown> = {
    $schema: "./manifest.schema.json",
    name: draftName(json.name),
    description: json.description,
  };
  if (json.websiteUrl) draft.homepage = json.websiteUrl;
  const imported = importedPackage(pkg);
  if (imported.spec) {
    draft.package = imported.spec;
  } else {
    draft.package = `TODO: ${pkg ? `${pkg.registryType} package ${pkg.identifier}` : "no package"}`;
    todo.push(imported.todo!);
  }
  const args = (pkg?.packageArguments ?? []).map((a) =>
    a.type === "named" ? `${a.name}${a.value ? `=${a.value}` : ""}` : a.value ?? `<${a.valueHint}>`
  );
  if (args.some((a) => a.includes("<"))) todo.push("args: replace <hints> with parameters");
  if (args.length) draft.args = args;
  const env: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const v of pkg?.environmentVariables ?? []) {
    const spec = { description: v.description ?? "", required: v.isRequired ?? false };
    if (v.isSecret) secrets[v.name] = spec;
    else env[v.name] = spec;
  }
  if (Object.keys(env).length) draft.env = env;
  if (Object.keys(secrets).length) draft.secrets = secrets;
  draft.permissions = `TODO: ${todo[0]}`;
  const text =
    `// DRAFT imported from server.json "${json.name}": it does not validate until the\n` +
    `// TODOs are resolved.\n${JSON.stringify(draft, null, 2)}\n`;
  return { draft: true, text, todo };
}
