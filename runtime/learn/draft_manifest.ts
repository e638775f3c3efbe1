/**
 * Turns what a learn run recorded into a draft manifest (pure): paths as parameters, hosts seen,
 * the environment names used, sys names, and what can never be granted natively, each refused
 * access with its reason. The draft grants nothing the server did not ask for.
 *
 * @module
 */
import type { EnvSpec, Manifest, ParameterSpec } from "../policy/manifest.ts";
import { isReservedEnvName, SYS_NAMES } from "../policy/manifest.ts";
import { isPrivateGrant, parseNetGrant } from "../policy/net_policy.ts";
import { normalize } from "../_path.ts";
import { isWithin } from "../policy/path_policy.ts";
import { NATIVE_ESCAPE_REASON, type RecordedCheck } from "./broker.ts";
import { netCheckTarget, type PermissionCheck } from "./permission_check.ts";
import { quoteText } from "./_escape.ts";

/** A path parameter of the learn run: the scratch folders that stood in for the user's paths. */
export interface LearnParameter {
  /** `path` (one value) or `path[]`. */
  type: "path" | "path[]";
  /** The scratch folders (or files) given to the server in its place. */
  scratch: string[];
  /** What the user gave, for the description (never written into the draft as a value). */
  description: string;
}

/** What a learn run knows besides its checks. */
export interface DraftContext {
  /** The draft's registry name. */
  name: string;
  /** One sentence on what the server does. */
  description: string;
  /** The exact package (`npm:name@1.2.3`, `jsr:…`, or a local path). */
  package: string;
  /** The server's arguments, path arguments as `${param}`. */
  args: string[];
  /** Path parameters by name. */
  parameters: Record<string, LearnParameter>;
  /** The server's own npm package folder in the learn cache, for `${package_dir}`. */
  packageDir?: string;
  /** Everything else the learn run gave the server to read: its code cache, HOME, cwd. */
  scratchRoots: { path: string; what: string; label?: string }[];
  /** Environment names the server used (the user named them, or it failed without them). */
  envUsed: string[];
  /** Real, non-secret values the user gave for the run (`AWS_REGION=us-east-1`), by name. */
  envValues?: Record<string, string>;
  /**
   * Hosts that came from learn's own sample arguments (a probe's `https://example.com/`): a
   * server reaching for one is following the sample, so it is never drafted.
   */
  sampleHosts?: readonly string[];
  /** Upstream page. */
  homepage?: string;
}

/** One access the learn run refused or the draft leaves out, and why. */
export interface LearnFinding {
  /** The permission (`read`, `net`, `run`, …). */
  permission: string;
  /** What was asked for. */
  value: string | null;
  /** Whether the learn run refused it (false: it was allowed but is not drafted). */
  refused: boolean;
  /** Why it was refused or left out, and what to do. */
  reason: string;
  /** Refused during learn, yet in the draft (a host the server reaches for). */
  drafted?: boolean;
}

/** A drafted manifest and what it leaves out. */
export interface DraftManifest {
  /** The draft, as a manifest object. */
  manifest: Manifest;
  /** The draft as JSONC text with short comments (what `--write` writes). */
  text: string;
  /** Accesses refused during learn or left out of the draft, with reasons. */
  findings: LearnFinding[];
  /** For every drafted permission entry, the check that asked for it. */
  evidence: GrantEvidence[];
}

/** Why one permission entry is in the draft: the first check the server made for it. */
export interface GrantEvidence {
  /** `read`, `write`, `net` or `sys`. */
  permission: string;
  /** The drafted entry (`${dir}`, `${package_dir}`, `api.example.com:443`, `homedir`). */
  entry: string;
  /** The check that asked for it. */
  check: PermissionCheck;
}

/** The value every environment name without a given value gets during learn. */
export const LEARN_PLACEHOLDER = "mcp-run-learn-placeholder";

/** Names that look like credentials: drafted under `secrets`. */
const CREDENTIAL_RE =
  /TOKEN|KEY|SECRET|PASS|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|(^|_)PWD$|PAT$/i;

/**
 * Tells whether an environment name looks like a credential.
 *
 * @param name A variable name.
 * @returns `true` for names like `GITHUB_TOKEN`, `API_KEY`, `DB_PASSWORD`, `MYSQL_PASS`.
 *
 * @example
 * ```ts
 * import { looksLikeCredential } from "./draft_manifest.ts";
 * console.log(looksLikeCredential("BRAVE_API_KEY"), looksLikeCredential("LOG_LEVEL")); // true false
 * ```
 */
export function looksLikeCredential(name: string): boolean {
  return CREDENTIAL_RE.test(name);
}

/**
 * Drafts a manifest from a learn run's checks (pure).
 *
 * - `read`/`write` inside a parameter's scratch folder become `${param}`; reads inside the npm
 *   package become `${package_dir}`; reads of the learn run's HOME, cwd or code cache are left out
 *   (production gives neutral folders that are never granted) and reported.
 * - `net`: every public host seen, as `host:port`; private and loopback addresses never.
 * - `env`: only {@linkcode DraftContext.envUsed}, credential-looking names under `secrets`.
 * - `sys`: every known sys name asked for.
 * - `run`/`ffi`: never granted; reported with the reason and the docker alternative.
 *
 * @param checks The distinct checks the learn run recorded.
 * @param context The package, arguments, parameters and scratch folders of the run.
 * @returns The draft, its JSONC text and the findings.
 *
 * @example
 * ```ts
 * import { draftManifest } from "./draft_manifest.ts";
 * const draft = draftManifest([
 *   { permission: "read", value: "/s/dir/a.txt", allowed: true, count: 1 },
 *   { permission: "net", value: "api.example.com:443", allowed: false, reason: "no", count: 1 },
 * ], {
 *   name: "demo", description: "Demo", package: "npm:demo@1.0.0", args: ["${dir}"],
 *   parameters: { dir: { type: "path", scratch: ["/s/dir"], description: "A folder" } },
 *   scratchRoots: [], envUsed: [],
 * });
 * console.log(draft.manifest.permissions.read, draft.manifest.permissions.net);
 * // ["${dir}"] ["api.example.com:443"]
 * ```
 */
export function draftManifest(
  checks: readonly RecordedCheck[],
  context: DraftContext,
): DraftManifest {
  const sorted = sortChecks(checks, context);
  const { findings } = sorted;
  const { env, secrets } = draftEnv(context.envUsed, findings);
  // The scratch folders are gone after the run: findings name them by what they stood for.
  for (const finding of findings) finding.value = displayPath(finding.value, context);
  const manifest: Manifest = {
    name: context.name,
    description: context.description,
    package: context.package,
    args: [...context.args],
    parameters: draftParameters(context),
    permissions: {
      read: sortGrants(sorted.read.keys()),
      write: sortGrants(sorted.write.keys()),
      net: [...sorted.net.keys()].sort(),
      env: [],
      sys: [...sorted.sys.keys()].sort(),
      run: [],
      ffi: [],
    },
    env,
    secrets,
  };
  if (context.homepage) manifest.homepage = context.homepage;
  const evidence: GrantEvidence[] = [];
  for (const permission of ["read", "write", "net", "sys"] as const) {
    for (const [entry, check] of sorted[permission]) {
      evidence.push({ permission, entry, check: basics(check) });
    }
  }
  return { manifest, text: draftText(manifest, findings), findings, evidence };
}

/** Each drafted entry with the first check that asked for it, and the findings. */
interface SortedChecks {
  read: Map<string, RecordedCheck>;
  write: Map<string, RecordedCheck>;
  net: Map<string, RecordedCheck>;
  sys: Map<string, RecordedCheck>;
  findings: LearnFinding[];
}

/** Sorts each check into a drafted entry or a finding. */
function sortChecks(checks: readonly RecordedCheck[], context: DraftContext): SortedChecks {
  const out: SortedChecks = {
    read: new Map(),
    write: new Map(),
    net: new Map(),
    sys: new Map(),
    findings: [],
  };
  const { findings } = out;
  for (const check of checks) {
    const value = check.value;
    switch (check.permission) {
      case "read":
      case "write": {
        const grant = value === null ? undefined : pathGrant(value, check.permission, context);
        if (grant && !check.allowed) findings.push(refusedFinding(check));
        else if (grant?.entry) addEntry(out[check.permission], grant.entry, check);
        else if (grant?.note) {
          findings.push({ ...basics(check), refused: false, reason: grant.note });
        } else findings.push(refusedFinding(check));
        break;
      }
      case "net":
        netFinding(check, out.net, findings, context);
        break;
      case "sys":
        if (value !== null && SYS_NAMES.includes(value)) addEntry(out.sys, value, check);
        else findings.push({ ...basics(check), refused: false, reason: NOT_SYS_NAME });
        break;
      case "run":
      case "ffi": {
        const reason = NATIVE_ESCAPE_REASON[check.permission];
        if (value !== null) findings.push({ ...basics(check), refused: true, reason });
        break;
      }
      case "env":
        break;
      default:
        if (!check.allowed) findings.push(refusedFinding(check));
    }
  }
  return out;
}

const NOT_SYS_NAME = "not a sys name a manifest can grant";

/** A scratch path as what it stood for: `${dir}/a.txt`, `<learn-home>/.config/x`. */
function displayPath(value: string | null, context: DraftContext): string | null {
  if (value === null || !value.startsWith("/")) return value;
  const path = normalize(value);
  const roots: [string, string][] = [
    ...Object.entries(context.parameters).flatMap(([name, p]) =>
      p.scratch.map((path): [string, string] => [path, `\${${name}}`])
    ),
    ...(context.packageDir ? [[context.packageDir, "${package_dir}"] as [string, string]] : []),
    ...context.scratchRoots.map((r): [string, string] => [r.path, r.label ?? `<${r.what}>`]),
  ];
  for (const [root, label] of roots) {
    if (isWithin(path, root)) return label + path.slice(root.length);
  }
  return path;
}

function basics(check: RecordedCheck): { permission: string; value: string | null } {
  return { permission: check.permission, value: check.value };
}

function refusedFinding(check: RecordedCheck): LearnFinding {
  return {
    ...basics(check),
    refused: true,
    reason: check.reason ?? "outside every folder the draft can grant; the draft leaves it out",
  };
}

/** The draft entry for a path check, or a note on why an allowed one is left out. */
function pathGrant(
  path: string,
  kind: "read" | "write",
  context: DraftContext,
): { entry?: string; note?: string } | undefined {
  for (const [name, param] of Object.entries(context.parameters)) {
    if (param.scratch.some((root) => isWithin(path, root))) return { entry: `\${${name}}` };
  }
  if (kind === "read" && context.packageDir && isWithin(path, context.packageDir)) {
    return { entry: "${package_dir}" };
  }
  const root = context.scratchRoots.find((r) => isWithin(path, r.path));
  if (root) {
    return {
      note: `inside ${root.what} of the learn run, which production replaces with a neutral ` +
        "folder that is never granted; pass the file or folder as an argument if the server needs it",
    };
  }
  return undefined;
}

/** Net checks: public hosts are drafted as host:port; private ones are reported, never drafted. */
function netFinding(
  check: RecordedCheck,
  net: Map<string, RecordedCheck>,
  findings: LearnFinding[],
  context: DraftContext,
): void {
  if (check.value === null) {
    findings.push({
      ...basics(check),
      refused: true,
      reason: "all network access is never granted",
    });
    return;
  }
  const { host, port } = netCheckTarget(check.value);
  const learnMade = learnMadeHost(host, context);
  if (learnMade) {
    findings.push({ ...basics(check), refused: true, reason: learnMade });
    return;
  }
  let isPrivate = host === "localhost" || host.endsWith(".localhost");
  try {
    isPrivate ||= isPrivateGrant(parseNetGrant(host));
  } catch {
    findings.push({
      ...basics(check),
      refused: true,
      reason: `"${host}" is not a host a manifest can grant`,
    });
    return;
  }
  if (isPrivate) {
    findings.push({
      ...basics(check),
      refused: true,
      reason:
        "a loopback or private address: a draft never grants one; if the server must reach a " +
        "local service, add it yourself as a parameter the user fills in",
    });
    return;
  }
  const entry = port === undefined ? host : `${host}:${port}`;
  if (!net.has(entry)) {
    findings.push({
      permission: "net",
      value: entry,
      refused: true,
      drafted: true,
      reason: "a learn run reaches no network; the host is drafted for your review",
    });
  }
  addEntry(net, entry, check);
}

/** Why a host came from learn itself (a placeholder or a sample argument), or undefined. */
function learnMadeHost(host: string, context: DraftContext): string | undefined {
  if (host.toLowerCase().includes(LEARN_PLACEHOLDER)) {
    const settings = context.envUsed.filter((n) =>
      !looksLikeCredential(n) && context.envValues?.[n] === undefined
    );
    const example = settings[0] ?? "NAME";
    return "the host depends on a variable's value, and learn gave it a placeholder; learn " +
      `again with a real, non-secret value: --env ${example}=VALUE` +
      (settings.length ? ` (learned with placeholders: ${settings.join(", ")})` : "");
  }
  const sample = (context.sampleHosts ?? []).find((h) => host.toLowerCase() === h);
  if (sample) {
    return "learn's own sample argument named this host when it tried the tool; the server " +
      "reaches for what its caller names, so the draft leaves it out";
  }
  return undefined;
}

function addEntry(map: Map<string, RecordedCheck>, entry: string, check: RecordedCheck): void {
  if (!map.has(entry)) map.set(entry, check);
}

/** The used environment names: credentials under `secrets`, the rest under `env`. */
function draftEnv(
  names: readonly string[],
  findings: LearnFinding[],
): { env: Record<string, EnvSpec>; secrets: Record<string, EnvSpec> } {
  const env: Record<string, EnvSpec> = {};
  const secrets: Record<string, EnvSpec> = {};
  for (const name of [...new Set(names)].sort()) {
    if (isReservedEnvName(name)) {
      findings.push({
        permission: "env",
        value: name,
        refused: true,
        reason: "reserved for the launcher: never passed to a server",
      });
    } else if (looksLikeCredential(name)) {
      secrets[name] = {
        description: `${name} (a credential; the server needs it)`,
        required: true,
      };
    } else {
      env[name] = { description: `${name} (a setting the server reads)`, required: false };
    }
  }
  return { env, secrets };
}

function draftParameters(context: DraftContext): Record<string, ParameterSpec> {
  const out: Record<string, ParameterSpec> = {};
  for (const [name, param] of Object.entries(context.parameters)) {
    out[name] = { type: param.type, description: param.description, required: true };
  }
  return out;
}

/** Parameters first, then `${package_dir}`. */
function sortGrants(entries: Iterable<string>): string[] {
  return [...entries].sort((a, b) =>
    Number(a === "${package_dir}") - Number(b === "${package_dir}") || a.localeCompare(b)
  );
}

/** Comment text from untrusted values: bounded, control and invisible characters escaped. */
function commentText(text: string): string {
  return quoteText(text);
}

/** The draft as JSONC: the manifest's own fields, with short comments on what was learned. */
function draftText(manifest: Manifest, findings: readonly LearnFinding[]): string {
  const field = (key: string, value: unknown, last = false): string =>
    `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replaceAll("\n", "\n  ")}${
      last ? "" : ","
    }`;
  const lines = [
    `// Drafted by mcp-run learn from ${commentText(manifest.package)}: review before use.`,
    "// It grants only what the server asked for while it was learned.",
    "{",
    field("name", manifest.name),
    field("description", manifest.description),
  ];
  if (manifest.homepage) lines.push(field("homepage", manifest.homepage));
  lines.push(field("package", manifest.package));
  if (manifest.args.length) lines.push(field("args", manifest.args));
  if (Object.keys(manifest.parameters).length) {
    lines.push("  // The paths given to the server during learn, replaced by parameters.");
    lines.push(field("parameters", manifest.parameters));
  }
  const p = manifest.permissions;
  const permissions = Object.fromEntries(
    (["read", "write", "net", "sys"] as const).filter((k) => p[k].length).map((k) => [k, p[k]]),
  );
  lines.push("  // Every entry was asked for during learn (net: hosts seen, not reached).");
  lines.push(field("permissions", permissions, !hasEnv(manifest)));
  if (Object.keys(manifest.env).length) {
    lines.push(field("env", manifest.env, Object.keys(manifest.secrets).length === 0));
  }
  if (Object.keys(manifest.secrets).length) {
    lines.push("  // Credentials: set them in mcp-run's environment; learn used placeholders.");
    lines.push(field("secrets", manifest.secrets, true));
  }
  const notes = findings.filter((f) => !f.drafted && (f.refused || f.permission !== "env"));
  if (notes.length) {
    lines.push("  // Not granted:");
    for (const f of notes.slice(0, 50)) {
      lines.push(
        `  //   ${f.permission} ${commentText(f.value ?? "(all)")}: ${commentText(f.reason)}`,
      );
    }
    if (notes.length > 50) lines.push(`  //   … and ${notes.length - 50} more`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

function hasEnv(manifest: Manifest): boolean {
  return Object.keys(manifest.env).length > 0 || Object.keys(manifest.secrets).length > 0;
}
