/**
 * The catalogue audit: finds capabilities a server quietly gives up because its manifest does
 * not grant them (a resource folder it cannot read, a variable it cannot see), and the
 * expectations each catalogue entry is held to.
 *
 * Deno's `DENO_AUDIT_PERMISSIONS=<file>` appends one JSON line per permission check, written
 * before the decision, so refused checks are in the file too; each line is compared with the
 * grants. A server is started under exactly its manifest's plan plus that one variable (the
 * file in a folder the server is not granted), and every list an MCP client can ask for is
 * listed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { serverDirs } from "../runtime/sandbox/cache_dirs.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { denoLaunchPlan, type LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { npmPackageDir } from "../runtime/policy/package_dir.ts";
import { isWithin } from "../runtime/policy/path_policy.ts";
import type { ResolvedServer } from "../runtime/policy/resolve.ts";
import {
  isGranted,
  parseCheckLine,
  type PermissionCheck,
} from "../runtime/learn/permission_check.ts";

export type { PermissionCheck };

/** What a server offers an MCP client. */
export interface Offering {
  /** Whether `initialize` carried instructions for the model. */
  instructions: boolean;
  tools: number;
  prompts: number;
  resources: number;
  resourceTemplates: number;
}

/** A refused check an entry is allowed, and why that loses nothing. */
export interface JustifiedRefusal {
  /** Matches `"<permission> <value>"`, paths written with `${package_dir}`, `${home}`, … */
  check: RegExp;
  /** One line: why the manifest rightly does not grant it. */
  reason: string;
}

/** What one catalogue entry must show under its own manifest. */
export interface AuditExpectation {
  /** Exactly what it lists. */
  offering: Offering;
  /** The only refused checks allowed, each with its reason. */
  refused?: JustifiedRefusal[];
}

const refusal = (check: RegExp, reason: string): JustifiedRefusal => ({ check, reason });

/** Switches of common npm libraries, unset here: their defaults apply. */
const DEBUG_SWITCHES = refusal(
  /^env (DEBUG|DEBUG_FD|DEBUG_MIME|NO_DEPRECATION|TRACE_DEPRECATION)$/,
  "debug and depd logging switches, off when unset",
);
/** Whole-environment reads. */
const WHOLE_ENV = refusal(
  /^env \(all\)$/,
  "copies its environment (Deno.env.toObject): it gets exactly the declared variables",
);
/** dotenv's `.env` lookup in the working folder. */
const DOTENV = refusal(
  /^(env DOTENV_(KEY|CONFIG_DEBUG|CONFIG_QUIET)|read \$\{cwd\}\/\.env)$/,
  "dotenv looks for a .env file in the working folder; settings come from the manifest instead",
);
/** Proxy variables: the launcher never passes them on (they can carry credentials). */
const PROXIES = refusal(
  /^env ((https?|all|no)_proxy|(HTTPS?|ALL|NO)_PROXY)$/,
  "proxy settings are reserved to the launcher and never reach a server",
);
/** Settings of a server's HTTP or hosted mode; mcp-run runs every server on stdio. */
const httpMode = (names: string) =>
  refusal(
    new RegExp(`^env (${names})$`),
    "settings of its HTTP or hosted mode; mcp-run uses stdio",
  );

/** A first-party server's own modules (`@sandboxed/<name>`), loaded from the pulled cache. */
const ownModules = (name: string) =>
  refusal(
    new RegExp(`^import https?:\\/\\/[^/]+\\/@sandboxed\\/${name}\\/`),
    "its own modules, loaded from the pulled cache (--cached-only, lockfile)",
  );

/**
 * Every catalogue entry, with what it lists under its manifest and the refused checks that are
 * known and lose nothing. A refusal not listed here fails the entry's test: grant it (minimally)
 * or list it with a reason; a listed refusal that no longer happens fails too.
 */
export const CATALOGUE_AUDIT: Record<string, AuditExpectation> = {
  "brave-search": {
    offering: { instructions: true, tools: 8, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [
      WHOLE_ENV,
      DEBUG_SWITCHES,
      DOTENV,
      refusal(
        /^env BRAVE_API_KEY_FILE$/,
        "the key can come from a file; it comes from BRAVE_API_KEY",
      ),
      refusal(/^env BRAVE_MCP_LOG_LEVEL$/, "log level, default when unset"),
      refusal(
        /^env BRAVE_MCP_(ENABLED|DISABLED)_TOOLS$/,
        "tool selection; unset, every tool is listed",
      ),
      httpMode(
        "BRAVE_MCP_(TRANSPORT|PORT|HOST|ALLOWED_ORIGINS|ALLOWED_HOSTS|STATELESS)",
      ),
    ],
  },
  context7: {
    offering: { instructions: true, tools: 2, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [
      WHOLE_ENV,
      DEBUG_SWITCHES,
      refusal(/^env CONTEXT7_API_URL$/, "another API address; only context7.com is granted"),
      httpMode(
        "RESOURCE_URL|OAUTH_AUTH_SERVER_URL|OAUTH_JWKS_URL|EMA_ISSUER|AUTH_SERVER_URL|" +
          "EMA_JWKS_URL|OPENAI_APPS_CHALLENGE_TOKEN|MCP_MAX_SUBSCRIPTIONS",
      ),
      refusal(/^env OTEL_SDK_DISABLED$/, "OpenTelemetry switch; no exporter is configured"),
      PROXIES,
      refusal(
        /^env NODE_EXTRA_CA_CERTS$/,
        "TLS trust is given to Deno itself, not the server's code",
      ),
    ],
  },
  dbhub: {
    offering: { instructions: false, tools: 2, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [
      WHOLE_ENV,
      DEBUG_SWITCHES,
      refusal(
        /^env (USER|NODE_PG_FORCE_NATIVE|PG(BINARY|OPTIONS|SSLNEGOTIATION|CLIENT_ENCODING|REPLICATION|APPNAME|CONNECT_TIMEOUT))$/,
        "the pg driver's optional settings; user, host and database come from --dsn",
      ),
      refusal(
        /^env (TYPESPEC_RUNTIME_LOG_LEVEL|AZURE_LOG_LEVEL|ProgramData|ProgramFiles|READABLE_STREAM|TZ)$/,
        "logging, Windows folders and stream switches of its SQL Server and MySQL drivers",
      ),
      refusal(
        /^env (ID|SSH_HOST|DBHUB_AUTH_TOKEN)$/,
        "source id, SSH tunnel and HTTP token settings; one --dsn on stdio needs none",
      ),
    ],
  },
  everything: {
    // Its documentation files are its resources: 7 only with ${package_dir} read.
    offering: { instructions: true, tools: 13, prompts: 4, resources: 7, resourceTemplates: 2 },
    refused: [
      refusal(
        /^env GZIP_(MAX_FETCH_SIZE|MAX_FETCH_TIME_MILLIS|ALLOWED_DOMAINS)$/,
        "limits of its gzip tool, defaults when unset (it has no network grant)",
      ),
    ],
  },
  exa: {
    offering: { instructions: false, tools: 2, prompts: 1, resources: 1, resourceTemplates: 0 },
    refused: [
      WHOLE_ENV,
      PROXIES,
      refusal(
        /^(env AGNOST_(LOG_LEVEL|DISABLE_LOGS)|net api\.agnost\.ai(:443)?|net https:\/\/api\.agnost\.ai\/.*)$/,
        "usage analytics sent to api.agnost.ai, deliberately not granted",
      ),
      refusal(/^env (ENABLED_TOOLS|TOOLS)$/, "tool selection; unset, the default tools are listed"),
      refusal(
        /^env (DEBUG|EXA_SOURCE|MCP_SESSION_ID|DEFAULT_SEARCH_TYPE|MCP_MAX_DURATION_SECONDS|AGENT_CALL_WINDOW_MS)$/,
        "logging, tracing and search defaults, default when unset",
      ),
    ],
  },
  fetch: {
    offering: { instructions: false, tools: 1, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [ownModules("fetch")],
  },
  filesystem: {
    offering: { instructions: false, tools: 14, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [refusal(/^env __MINIMATCH_TESTING_PLATFORM__$/, "a test hook of minimatch")],
  },
  firecrawl: {
    offering: { instructions: true, tools: 29, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [
      WHOLE_ENV,
      DEBUG_SWITCHES,
      DOTENV,
      httpMode(
        "OPENAI_APPS_CHALLENGE_TOKEN|FASTMCP_(ENDPOINT|TRANSPORT|PORT|STATELESS|HOST)|" +
          "FIRECRAWL_OAUTH_(TOKEN|ISSUER)|FIRECRAWL_MCP_RESOURCE_URL|PORT|HOST|CLOUD_SERVICE|" +
          "SSE_LOCAL|HTTP_STREAMABLE_SERVER",
      ),
      PROXIES,
      refusal(/^env npm_package_version$/, "set only under npm run; the version is built in"),
      refusal(
        /^env FIRECRAWL_(NO|DISABLE)_(SEARCH|ENDPOINT)_FEEDBACK$/,
        "switches that remove the feedback tools; unset, they are listed",
      ),
    ],
  },
  github: {
    offering: { instructions: false, tools: 26, prompts: 0, resources: 0, resourceTemplates: 0 },
  },
  gitlab: {
    offering: { instructions: false, tools: 9, prompts: 0, resources: 0, resourceTemplates: 0 },
  },
  "google-maps": {
    offering: { instructions: false, tools: 7, prompts: 0, resources: 0, resourceTemplates: 0 },
  },
  memory: {
    offering: { instructions: false, tools: 9, prompts: 0, resources: 1, resourceTemplates: 0 },
  },
  notion: {
    offering: { instructions: false, tools: 24, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [
      WHOLE_ENV,
      DEBUG_SWITCHES,
      PROXIES,
      refusal(/^env BASE_URL$/, "another API address; only api.notion.com is granted"),
      refusal(
        /^env OPENAPI_MCP_HEADERS$/,
        "request headers given whole, an alternative to NOTION_TOKEN",
      ),
      httpMode("ENABLE_TOKEN_PASSTHROUGH"),
    ],
  },
  perplexity: {
    offering: { instructions: true, tools: 4, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [
      refusal(
        /^env (NODE_V8_COVERAGE|UNDICI_NO_FG|JEST_WORKER_ID)$/,
        "coverage, test-runner and undici switches, off when unset",
      ),
      refusal(
        /^env PERPLEXITY_BASE_URL$/,
        "another API address; only api.perplexity.ai is granted",
      ),
      PROXIES,
      refusal(/^env PERPLEXITY_PROXY$/, "a proxy for its requests; none is granted"),
      refusal(/^env PERPLEXITY_TIMEOUT_MS$/, "request timeout, default when unset"),
    ],
  },
  postgres: {
    offering: { instructions: false, tools: 1, prompts: 0, resources: 1, resourceTemplates: 0 },
    refused: [
      refusal(
        /^env (USER|NODE_PG_FORCE_NATIVE|PG(BINARY|OPTIONS|SSLMODE|SSLNEGOTIATION|CLIENT_ENCODING|REPLICATION|APPNAME|CONNECT_TIMEOUT))$/,
        "the pg driver's optional settings; user, host and database come from the URL",
      ),
    ],
  },
  redis: {
    offering: { instructions: false, tools: 4, prompts: 0, resources: 0, resourceTemplates: 0 },
  },
  sentry: {
    offering: { instructions: false, tools: 9, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [
      WHOLE_ENV,
      refusal(
        /^env (DEBUG|PRISMA_SHOW_ALL_TRACES|LOG_LEVEL|NODE_ENV)$/,
        "logging switches, default when unset",
      ),
      refusal(
        /^env (ANTHROPIC|OPENAI|OPENROUTER)_API_KEY|^env (ANTHROPIC|OPENAI)_(BASE_URL|MODEL)$|^env EMBEDDED_AGENT_PROVIDER$/,
        "its AI search tools need another provider's key and host; the manifest offers the Sentry API",
      ),
      refusal(
        /^env (SENTRY_URL|MCP_URL|SENTRY_CLIENT_ID)$/,
        "hosted-mode settings; the host comes from SENTRY_HOST",
      ),
      refusal(
        /^env MCP_(DISABLE_)?SKILLS$/,
        "skill selection; unset, the default skills are listed",
      ),
      refusal(
        /^env (SENTRY_(DSN|RELEASE|SPOTLIGHT|DEBUG|NAME|USE_ENVIRONMENT)|DEFAULT_SENTRY_DSN|OTEL_\w+)$/,
        "its own error reporting, off without a DSN",
      ),
      refusal(
        /^(env (VERCEL|AWS_REGION|GCP_PROJECT|ALIYUN_REGION_ID|WEBSITE_SITE_NAME|IBM_CLOUD_REGION|TENCENTCLOUD_REGION|NETLIFY|FLY_REGION|DYNO)|read \/etc)$/,
        "the error-reporting SDK's cloud and OS detection (/etc/*-release)",
      ),
      refusal(
        /^env (GITHUB_SHA|CI_\w+|BITBUCKET_COMMIT|APPVEYOR_\w+|CODEBUILD_\w+|AWS_COMMIT_ID|BUILD_\w+|GIT_\w+|BUDDY_\w+|BUILDKITE_COMMIT|CIRCLE_SHA1|CIRRUS_\w+|CF_\w+|CM_COMMIT|DRONE_\w+|FC_\w+|HEROKU_\w+|RAILWAY_\w+|RENDER_\w+|SEMAPHORE_\w+|TRAVIS_\w+|VERCEL_\w+|ZEIT_\w+|SOURCE_COMMIT|SOURCE_VERSION|COMMIT_REF)$/,
        "the error-reporting SDK's release detection from CI variables",
      ),
    ],
  },
  "sequential-thinking": {
    offering: { instructions: false, tools: 1, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [refusal(/^env TF_BUILD$/, "chalk's CI detection for colors")],
  },
  slack: {
    offering: { instructions: false, tools: 8, prompts: 0, resources: 0, resourceTemplates: 0 },
  },
  tavily: {
    offering: { instructions: false, tools: 5, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [
      WHOLE_ENV,
      DEBUG_SWITCHES,
      DOTENV,
      refusal(
        /^(env (YARGS_MIN_NODE_VERSION|_|SHELL|ZSH_NAME|LC_ALL|LC_MESSAGES|LANG|LANGUAGE)|read \$\{cwd\})$/,
        "yargs' locale, shell-completion and working-folder lookups; English and no completion",
      ),
      PROXIES,
      refusal(/^env DEFAULT_PARAMETERS$/, "default search parameters; unset, Tavily's defaults"),
      refusal(
        /^env TAVILY_HUMAN_ID$/,
        "an optional end-user id sent for Tavily's analytics; not sent when unset",
      ),
    ],
  },
  time: {
    offering: { instructions: false, tools: 2, prompts: 0, resources: 0, resourceTemplates: 0 },
    refused: [ownModules("time")],
  },
};

/**
 * Returns the plan with Deno's permission audit written to `file`; argv, folder and every
 * other variable stay exactly the plan's.
 *
 * @param plan The launcher's plan.
 * @param file Where Deno appends the checks (outside every grant).
 * @returns The audited plan.
 */
export function withPermissionAudit(plan: LaunchPlan, file: string): LaunchPlan {
  return { ...plan, env: { ...plan.env, DENO_AUDIT_PERMISSIONS: file } };
}

/**
 * Reads Deno's permission audit file.
 *
 * @param file The file given in `DENO_AUDIT_PERMISSIONS`.
 * @returns The checks, in order (none when the file was never written).
 */
export function readPermissionChecks(file: string): PermissionCheck[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return text.split("\n").filter((l) => l.trim()).map((line) => {
    const check = parseCheckLine(line);
    assert.ok(check, `not a permission check: ${line}`);
    return check;
  });
}

/**
 * The refused checks, each once, as `"<permission> <value>"` with the server's own folders
 * written as `${package_dir}`, `${deno_dir}`, `${home}` and `${cwd}`.
 *
 * @param server The resolved server.
 * @param checks The audited checks.
 * @param cacheRoot The cache root it was launched from.
 * @returns The distinct refused checks, in first-seen order.
 */
export function refusedChecks(
  server: ResolvedServer,
  checks: PermissionCheck[],
  cacheRoot: string,
): string[] {
  const dirs = serverDirs(server.name, server.specifier, cacheRoot);
  const names: [string, string][] = [];
  if (server.specifier.startsWith("npm:")) {
    names.push([npmPackageDir(server.specifier, dirs.denoDir), "${package_dir}"]);
  }
  names.push([dirs.denoDir, "${deno_dir}"], [dirs.home, "${home}"], [dirs.cwd, "${cwd}"]);
  const named = (value: string | null) => {
    if (value === null) return "(all)";
    for (const [path, name] of names) {
      if (isWithin(value, path)) return name + value.slice(path.length);
    }
    return value;
  };
  const seen = new Set<string>();
  for (const check of checks) {
    if (!isGranted(server, check)) seen.add(`${check.permission} ${named(check.value)}`);
  }
  return [...seen];
}

/**
 * Lists everything the server offers, following pagination, asking only for what its
 * capabilities announce.
 *
 * @param client A connected client.
 * @returns The counts.
 */
export async function listOffering(client: Client): Promise<Offering> {
  const caps = client.getServerCapabilities() ?? {};
  const all = async <T>(
    list: (cursor?: string) => Promise<{ nextCursor?: string } & Record<string, unknown>>,
    key: string,
  ) => {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await list(cursor);
      items.push(...page[key] as T[]);
      cursor = page.nextCursor;
    } while (cursor);
    return items.length;
  };
  // Servers from before resource templates answer "Method not found" (-32601): none.
  const templates = () =>
    all((cursor) => client.listResourceTemplates({ cursor }), "resourceTemplates").catch(
      (error: { code?: number }) => {
        if (error.code === -32601) return 0;
        throw error;
      },
    );
  return {
    instructions: (client.getInstructions() ?? "") !== "",
    tools: caps.tools ? await all((cursor) => client.listTools({ cursor }), "tools") : 0,
    prompts: caps.prompts ? await all((cursor) => client.listPrompts({ cursor }), "prompts") : 0,
    resources: caps.resources
      ? await all((cursor) => client.listResources({ cursor }), "resources")
      : 0,
    resourceTemplates: caps.resources ? await templates() : 0,
  };
}

/** A folder for the audit file that no grant of the server covers. */
export function auditFile(server: ResolvedServer): string {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-audit-" }));
  for (const granted of [...server.read, ...server.write]) {
    assert.ok(!isWithin(dir, granted), `the audit folder ${dir} is inside a grant`);
  }
  return join(dir, "permissions.jsonl");
}

/**
 * Asserts one entry's audit: exactly the expected offering, and no refused check but the
 * justified ones.
 *
 * @param server The resolved server.
 * @param offering What it listed.
 * @param file Its audit file.
 * @param cacheRoot The cache root it was launched from.
 */
export function assertAudit(
  server: ResolvedServer,
  offering: Offering,
  file: string,
  cacheRoot: string,
): void {
  const expected = CATALOGUE_AUDIT[server.name];
  assert.ok(expected, `${server.name} has no entry in CATALOGUE_AUDIT`);
  const checks = readPermissionChecks(file);
  assert.ok(checks.length > 0, "the audit file is empty: DENO_AUDIT_PERMISSIONS was not honored");
  const refused = refusedChecks(server, checks, cacheRoot);
  const unjustified = refused.filter((r) => !(expected.refused ?? []).some((j) => j.check.test(r)));
  assert.deepEqual(
    unjustified,
    [],
    `${server.name} was refused checks its manifest does not justify:\n  ${
      unjustified.join("\n  ")
    }`,
  );
  const stale = (expected.refused ?? []).filter((j) => !refused.some((r) => j.check.test(r)));
  assert.deepEqual(
    stale.map((j) => `${j.check} (${j.reason})`),
    [],
    `${server.name} lists justified refusals that no longer happen: remove them`,
  );
  assert.deepEqual(offering, expected.offering, `${server.name} lists less or more than expected`);
}

/** Options for {@linkcode auditCatalogueEntry}. */
export interface AuditOptions {
  /** The cache root the server is pulled into. */
  cacheRoot: string;
  /** The launcher's environment (secrets, declared variables); default: this process's. */
  source?: Record<string, string>;
  /** Registry overrides, for servers pulled from a local registry. */
  registries?: Record<string, string>;
  /** Wraps the audited plan, e.g. into a fake internet; argv and environment stay the plan's. */
  wrap?: (plan: LaunchPlan) => Promise<LaunchPlan>;
  /** A tool call made after the lists, as a client would. */
  call?: { name: string; arguments: Record<string, unknown> };
}

/**
 * Starts a catalogue server under exactly its manifest's plan with the permission audit on,
 * lists everything it offers (and makes one call when asked), and asserts its entry in
 * {@linkcode CATALOGUE_AUDIT}.
 *
 * @param server The resolved catalogue server.
 * @param options Cache root, environment, wrapper, call.
 */
export async function auditCatalogueEntry(
  server: ResolvedServer,
  options: AuditOptions,
): Promise<void> {
  const file = auditFile(server);
  const native = denoLaunchPlan(server, {
    cacheRoot: options.cacheRoot,
    source: options.source,
    registries: options.registries,
  });
  const audited = withPermissionAudit(native, file);
  const stderr: string[] = [];
  const { client, close } = await connectServer(server, {
    cacheRoot: options.cacheRoot,
    source: options.source,
    registries: options.registries,
    plan: options.wrap ? await options.wrap(audited) : audited,
    // The registry manifest itself; other tests in this cache launch narrowed copies of some
    // entries, which then stand as the approved manifest.
    approve: true,
    progress: () => {},
    onStderr: (line: string) => stderr.push(line),
  });
  let offering: Offering;
  try {
    offering = await listOffering(client);
    if (options.call) await client.callTool(options.call);
  } finally {
    await close();
  }
  try {
    assertAudit(server, offering, file, options.cacheRoot);
  } catch (error) {
    (error as Error).message += `\nServer stderr:\n${stderr.slice(-20).join("\n")}`;
    throw error;
  }
}
