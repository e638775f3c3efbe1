/**
 * The manifest format's definition, in one place: the patterns, names and fields that
 * `parseManifest` checks, and the JSON Schema built from them that editors read
 * (`manifests/manifest.schema.json`, written by `deno task schema`).
 *
 * Run as a script to write the schema file: `deno run --allow-write=manifests
 * runtime/policy/manifest_schema.ts`. A test fails when the committed file differs from
 * {@linkcode manifestSchema}.
 *
 * @module
 */

/** How deeply objects and lists may nest in a manifest; a real one needs four levels. */
export const MAX_DEPTH = 32;

/** The kinds of value a user parameter can hold. `[]` kinds take several values. */
export type ParameterType =
  | "string"
  | "string[]"
  | "path"
  | "path[]"
  | "host"
  | "host[]"
  | "number"
  | "boolean";

/** All parameter types, for validation and help text. */
export const PARAMETER_TYPES: readonly ParameterType[] = [
  "string",
  "string[]",
  "path",
  "path[]",
  "host",
  "host[]",
  "number",
  "boolean",
];

/** Deno sys API names accepted in `permissions.sys`. */
export const SYS_NAMES: readonly string[] = [
  "hostname",
  "osRelease",
  "osUptime",
  "loadavg",
  "networkInterfaces",
  "systemMemoryInfo",
  "uid",
  "gid",
  "cpus",
  "homedir",
  "getegid",
  "username",
  "statfs",
  "getPriority",
  "setPriority",
  "userInfo",
];

const ENV_NAME = String.raw`[A-Za-z_][A-Za-z0-9_]*`;
const EXACT_VERSION = String.raw`\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?`;
/** A PyPI project name (PEP 508): letters and digits, with `.`, `_` or `-` inside. */
const PYPI_NAME = String.raw`[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?`;
/** One exact PEP 440 public version: release, optional pre, post and dev parts. */
const PYPI_VERSION = String.raw`[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?`;
/** A registry host: a dotted name or `localhost`, with an optional port, or `name:port`. */
const IMAGE_HOST = String
  .raw`([a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?|localhost(:[0-9]+)?|[a-z0-9-]+:[0-9]+)`;
/** An image name: lowercase path parts after an optional registry host. */
const IMAGE_NAME = String
  .raw`(${IMAGE_HOST}/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*`;

/**
 * The regular expressions of the format, as pattern text. Plain groups only (no `(?:`), so that
 * every JSON Schema validator reads them as the validator's `RegExp` does.
 */
export const MANIFEST_PATTERNS: Readonly<Record<PatternName, string>> = {
  name: "^[a-z0-9][a-z0-9-]{0,63}$",
  parameterName: "^[a-zA-Z_][a-zA-Z0-9_]{0,63}$",
  envName: `^${ENV_NAME}$`,
  envEntry: String.raw`^${ENV_NAME}(_\*)?$`,
  npmPackage: String
    .raw`^npm:(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*@${EXACT_VERSION}(/[A-Za-z0-9._@/-]+)?$`,
  jsrPackage: String
    .raw`^jsr:@[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*@${EXACT_VERSION}(/[A-Za-z0-9._/-]+)?$`,
  localPackage: String.raw`^(\.{1,2}/|/)[^\0]*\.(ts|js|mjs|mts|tsx|jsx)$`,
  pypiPackage: String
    .raw`^pypi:${PYPI_NAME}(\[${PYPI_NAME}(,${PYPI_NAME})*\])?@${PYPI_VERSION}(/${PYPI_NAME})?$`,
  ociPackage: String.raw`^oci:${IMAGE_NAME}@sha256:[0-9a-f]{64}$`,
  toolPattern: "^[A-Za-z0-9_./*-]{1,128}$",
  // Only a hint for editors: the validator resolves placeholders and checks their types.
  grantPath: String.raw`^(/|~/|.*\$\{[A-Za-z_][A-Za-z0-9_]*\})`,
};

/** The names of {@linkcode MANIFEST_PATTERNS}. */
export type PatternName =
  | "name"
  | "parameterName"
  | "envName"
  | "envEntry"
  | "npmPackage"
  | "jsrPackage"
  | "localPackage"
  | "pypiPackage"
  | "ociPackage"
  | "toolPattern"
  | "grantPath";

/** The permission kinds of `permissions`, in the order they are checked and listed. */
export const PERMISSION_KINDS = ["read", "write", "net", "env", "sys", "run", "ffi"] as const;

/** The fields each object of a manifest allows, in the order messages list them. */
export const MANIFEST_FIELDS: Readonly<Record<FieldSet, readonly string[]>> = {
  root: [
    "$schema",
    "name",
    "description",
    "package",
    "args",
    "parameters",
    "permissions",
    "env",
    "secrets",
    "homepage",
    "image",
    "tools",
    "scan",
    "limits",
  ],
  parameter: ["type", "description", "required", "default"],
  env: ["description", "required", "value"],
  secret: ["description", "required"],
  permissions: PERMISSION_KINDS,
  tools: ["allow", "deny", "readOnly"],
};

/** The names of {@linkcode MANIFEST_FIELDS}. */
export type FieldSet = "root" | "parameter" | "env" | "secret" | "permissions" | "tools";

/** A JSON value, as the schema is made of. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

type JsonObject = { [key: string]: JsonValue };

/** Keeps `fields` (in that order) of `all`, and fails when one has no definition. */
function properties(fields: readonly string[], all: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const field of fields) {
    if (!(field in all)) throw new TypeError(`The schema defines no field "${field}"`);
    out[field] = all[field];
  }
  return out;
}

function closedObject(fields: readonly string[], required: string[], all: JsonObject): JsonObject {
  return {
    type: "object",
    additionalProperties: false,
    required,
    properties: properties(fields, all),
  };
}

const strings: JsonObject = { type: "array", items: { type: "string" } };

function packageSchema(): JsonObject {
  return {
    description: "npm:name@x.y.z[/bin], jsr:@scope/name@x.y.z[/export] (exact versions), a " +
      "local .ts/.js path relative to the manifest, or, run only in a container, " +
      "pypi:name[extra,…]@x.y.z[/script] (an exact version) or oci:image@sha256:<64 hex> (a " +
      "digest, no tag).",
    type: "string",
    anyOf: [
      { pattern: MANIFEST_PATTERNS.npmPackage },
      { pattern: MANIFEST_PATTERNS.jsrPackage },
      { pattern: MANIFEST_PATTERNS.localPackage },
      { pattern: MANIFEST_PATTERNS.pypiPackage },
      { pattern: MANIFEST_PATTERNS.ociPackage },
    ],
  };
}

function parametersSchema(): JsonObject {
  return {
    description: "Values the user supplies with -p NAME=VALUE.",
    type: "object",
    propertyNames: { pattern: MANIFEST_PATTERNS.parameterName },
    additionalProperties: closedObject(MANIFEST_FIELDS.parameter, ["type", "description"], {
      type: { enum: [...PARAMETER_TYPES] },
      description: { type: "string" },
      required: { type: "boolean", default: false },
      default: { anyOf: [{ type: "string" }, strings] },
    }),
  };
}

function permissionsSchema(): JsonObject {
  const kinds: JsonObject = {
    read: { $ref: "#/$defs/paths" },
    write: { $ref: "#/$defs/paths" },
    net: {
      description: "host, host:port, *.domain, IPv4, IPv4/CIDR, [IPv6]; private addresses only " +
        "through host parameters.",
      type: "array",
      items: { type: "string", not: { enum: ["", "*", "all"] } },
    },
    env: {
      description: "Environment names (exact or PREFIX_*). Reserved in any letter case: DENO_*, " +
        "NODE_*, NPM_CONFIG_*, LD_*, DYLD_*, *_PROXY, JSR_URL, SSL_CERT_FILE, SSL_CERT_DIR, " +
        "SSLKEYLOGFILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, PATH, HOME, TMPDIR, NO_COLOR; a " +
        "pattern never passes a reserved name, and one that can only match reserved names " +
        "(DENO_*) or that matches a variable mcp-run sets for Deno (JSR_*, NPM_*, NO_*) is an " +
        "error.",
      type: "array",
      items: { type: "string", pattern: MANIFEST_PATTERNS.envEntry },
    },
    sys: { type: "array", items: { enum: [...SYS_NAMES] } },
    run: {
      description: "Programs the server may start: refused natively; docker only with --trust.",
      ...strings,
    },
    ffi: {
      description:
        "Native libraries the server may load: refused natively; docker only with --trust.",
      ...strings,
    },
  };
  return {
    description: "What the server may touch. Entries may use ${name} parameters.",
    type: "object",
    additionalProperties: false,
    properties: properties(MANIFEST_FIELDS.permissions, kinds),
  };
}

function envSchema(description: string, fields: readonly string[]): JsonObject {
  return {
    description,
    type: "object",
    propertyNames: { pattern: MANIFEST_PATTERNS.envName },
    additionalProperties: closedObject(fields, ["description"], {
      description: { type: "string" },
      required: { type: "boolean", default: false },
      value: {
        description: "A value the launcher sets itself; ${name} expands parameters.",
        type: "string",
      },
    }),
  };
}

function toolsSchema(): JsonObject {
  const names: JsonObject = {
    type: "array",
    items: { type: "string", pattern: MANIFEST_PATTERNS.toolPattern },
  };
  return {
    description: "Which tools the client may see and call; --tools and --exclude-tools narrow " +
      "it further, never widen it.",
    type: "object",
    additionalProperties: false,
    properties: properties(MANIFEST_FIELDS.tools, {
      allow: { description: "Only these tools: names or * globs.", ...names },
      deny: { description: "Never these tools (beats allow): names or * globs.", ...names },
      readOnly: {
        description: "Only the tools the server annotates readOnlyHint: true (its own claim).",
        type: "boolean",
      },
    }),
  };
}

/**
 * Builds the manifest format's JSON Schema (draft 2020-12) from the definitions above: the
 * same patterns, names and fields `parseManifest` checks. Some rules only the validator can
 * check (placeholders naming declared parameters, reserved environment names) are described in
 * the schema's text.
 *
 * @returns The schema, a fresh JSON object.
 *
 * @example
 * ```ts
 * import { manifestSchema } from "./manifest_schema.ts";
 * const schema = manifestSchema() as { required: string[] };
 * console.log(schema.required); // ["name", "description", "package"]
 * ```
 */
export function manifestSchema(): JsonValue {
  const fields: JsonObject = {
    $schema: { type: "string" },
    name: {
      description: "Registry name: lowercase letters, digits and dashes.",
      type: "string",
      pattern: MANIFEST_PATTERNS.name,
    },
    description: { description: "One sentence on what the server does.", type: "string" },
    package: packageSchema(),
    args: {
      description: "Arguments passed to the server; ${name} expands a parameter (a list " +
        "parameter must stand alone).",
      ...strings,
    },
    parameters: parametersSchema(),
    permissions: permissionsSchema(),
    env: envSchema("Plain settings the server reads from the environment.", MANIFEST_FIELDS.env),
    secrets: envSchema(
      "Environment variables that carry credentials; never written in plain text where a " +
        "client can hold secrets.",
      MANIFEST_FIELDS.secret,
    ),
    homepage: { description: "Upstream project page.", type: "string" },
    image: {
      description: "For a pypi: package that needs more than the default Python image holds: " +
        "the Python image it is installed and run in, pinned by digest (image@sha256:…).",
      type: "string",
      pattern: "^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$",
    },
    tools: toolsSchema(),
    scan: {
      description: "What becomes of instruction-like text in the server's tool, prompt and " +
        "resource definitions: warn (logged, passed on) or block (left out, calls refused; the " +
        "default). Hidden and control characters are always removed.",
      enum: ["warn", "block"],
    },
    limits: {
      description: "Memory caps this server needs, in MiB, when more than the user's defaults " +
        "(512 MiB of V8 heap, 1024 MiB for the whole process); a manifest can only raise them.",
      type: "object",
      additionalProperties: false,
      properties: {
        heapMb: { type: "integer", minimum: 64, maximum: 65536 },
        memoryMb: { type: "integer", minimum: 128, maximum: 131072 },
      },
    },
  };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://jsr.io/@sandboxed/mcp-run/manifests/manifest.schema.json",
    title: "mcp-run server manifest",
    description: "What an MCP server is, where its code comes from, and exactly what it may touch.",
    type: "object",
    additionalProperties: false,
    required: ["name", "description", "package"],
    properties: properties(MANIFEST_FIELDS.root, fields),
    $defs: {
      paths: {
        description: "Absolute paths, ~/ paths, or ${name} path parameters.",
        type: "array",
        items: { type: "string", pattern: MANIFEST_PATTERNS.grantPath },
      },
    },
  };
}

if (import.meta.main) {
  const file = new URL("../../manifests/manifest.schema.json", import.meta.url);
  await Deno.writeTextFile(file, JSON.stringify(manifestSchema(), null, 2) + "\n");
}
