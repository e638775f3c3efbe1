/**
 * End to end: each catalogue server that calls an internet API is pulled, launched under exactly
 * its manifest's flags inside a fake internet (see fake_internet.ts), listed and called through
 * the real MCP SDK client. Each test then shows what the manifest does not allow: the same API
 * host name resolving to a private address is refused by the always-on deny list, and no
 * request reaches it. Each is also audited for what its grants quietly cost it (see
 * _catalogue_audit.ts).
 *
 * Requires root (network namespaces), openssl, and the npm registry for the first pull.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { denoLaunchPlan, prepareServer } from "../runtime/sandbox/launch_plan.ts";
import { loadManifest } from "../runtime/registry/load.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import type { FakeRequest, FakeRoute } from "./fake_api.ts";
import {
  fakeInternetPlan,
  makeTestCertificates,
  PRIVATE_ADDRESS,
  PUBLIC_ADDRESS,
  type TestCertificates,
} from "./fake_internet.ts";
import { auditCatalogueEntry } from "./_catalogue_audit.ts";
import { resultText, ROOT, tempDir } from "./_helpers.ts";

/** Pulled code is kept between runs (each pull is still verified before a launch). */
const cache = Deno.env.get("MCP_RUN_TEST_CACHE") ?? join(ROOT, ".cache", "e2e");

interface ApiCase {
  /** Registry name. */
  name: string;
  /** The host the manifest grants, which the fake API impersonates. */
  host: string;
  /** Secret and variable values given to the launcher. */
  env: Record<string, string>;
  /** Canned API answers. */
  routes: FakeRoute[];
  tool: string;
  args: Record<string, unknown>;
  /** Expected in the tool's text result (proves the fake answer went through the server). */
  expect: RegExp;
  /** Expected `METHOD /path` of the API request. */
  request: RegExp;
  /** The credential, which must reach the API (header, query or body). */
  secret: string;
  /** Hosts the package talks to that the manifest does not grant, faked too: never reached. */
  ungranted?: string[];
}

const CANARY = "CANARY-7f3a";

const CASES: ApiCase[] = [
  {
    name: "github",
    host: "api.github.com",
    env: { GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_secret_github" },
    routes: [{
      path: "/search/repositories",
      json: {
        total_count: 1,
        incomplete_results: false,
        items: [{
          id: 1,
          node_id: "R_1",
          name: "deno",
          full_name: "denoland/deno",
          private: false,
          owner: {
            login: "denoland",
            id: 2,
            node_id: "O_2",
            avatar_url: "",
            url: "",
            html_url: "",
            type: "Organization",
          },
          html_url: "https://github.com/denoland/deno",
          description: `Runtime ${CANARY}`,
          fork: false,
          url: "https://api.github.com/repos/denoland/deno",
          created_at: "2018-05-15T00:00:00Z",
          updated_at: "2025-01-01T00:00:00Z",
          pushed_at: "2025-01-01T00:00:00Z",
          git_url: "git://github.com/denoland/deno.git",
          ssh_url: "git@github.com:denoland/deno.git",
          clone_url: "https://github.com/denoland/deno.git",
          default_branch: "main",
        }],
      },
    }],
    tool: "search_repositories",
    args: { query: "deno" },
    expect: new RegExp(`denoland/deno[\\s\\S]*${CANARY}`),
    request: /^GET \/search\/repositories$/,
    secret: "ghp_secret_github",
  },
  {
    name: "brave-search",
    host: "api.search.brave.com",
    env: { BRAVE_API_KEY: "BSA_secret_brave" },
    routes: [{
      path: "/res/v1/web/search",
      json: {
        type: "search",
        web: {
          type: "search",
          results: [{ title: `Deno ${CANARY}`, url: "https://deno.com/", description: "Runtime" }],
        },
      },
    }],
    tool: "brave_web_search",
    args: { query: "deno" },
    expect: new RegExp(`Deno ${CANARY}`),
    request: /^GET \/res\/v1\/web\/search$/,
    secret: "BSA_secret_brave",
  },
  {
    name: "slack",
    host: "slack.com",
    env: { SLACK_BOT_TOKEN: "xoxb-secret-slack", SLACK_TEAM_ID: "T0001" },
    routes: [{
      path: "/api/conversations.list",
      json: { ok: true, channels: [{ id: "C1", name: `general-${CANARY}` }] },
    }],
    tool: "slack_list_channels",
    args: {},
    expect: new RegExp(`general-${CANARY}`),
    request: /^GET \/api\/conversations\.list$/,
    secret: "xoxb-secret-slack",
  },
  {
    name: "google-maps",
    host: "maps.googleapis.com",
    env: { GOOGLE_MAPS_API_KEY: "AIza_secret_maps" },
    routes: [{
      path: "/maps/api/geocode/json",
      json: {
        status: "OK",
        results: [{
          formatted_address: `Berlin ${CANARY}`,
          geometry: { location: { lat: 52.52, lng: 13.405 } },
          place_id: "p1",
        }],
      },
    }],
    tool: "maps_geocode",
    args: { address: "Berlin" },
    expect: new RegExp(`Berlin ${CANARY}`),
    request: /^GET \/maps\/api\/geocode\/json$/,
    secret: "AIza_secret_maps",
  },
  {
    name: "gitlab",
    host: "gitlab.com",
    env: { GITLAB_PERSONAL_ACCESS_TOKEN: "glpat-secret-gitlab" },
    routes: [{
      path: "/api/v4/projects",
      json: [{
        id: 7,
        name: "deno",
        path_with_namespace: `group/deno-${CANARY}`,
        description: null,
        visibility: "public",
        web_url: "https://gitlab.com/group/deno",
        ssh_url_to_repo: "git@gitlab.com:group/deno.git",
        http_url_to_repo: "https://gitlab.com/group/deno.git",
        namespace: { id: 1, name: "group", path: "group", kind: "group", full_path: "group" },
        default_branch: "main",
        created_at: "2024-01-01T00:00:00Z",
        last_activity_at: "2024-01-01T00:00:00Z",
      }],
    }],
    tool: "search_repositories",
    args: { search: "deno" },
    expect: new RegExp(`group/deno-${CANARY}`),
    request: /^GET \/api\/v4\/projects$/,
    secret: "glpat-secret-gitlab",
  },
  {
    name: "notion",
    host: "api.notion.com",
    env: { NOTION_TOKEN: "ntn_secret_notion" },
    routes: [{
      path: "/v1/users/me",
      json: { object: "user", id: "u1", type: "bot", name: `Bot ${CANARY}` },
    }],
    tool: "API-get-self",
    args: {},
    expect: new RegExp(`Bot ${CANARY}`),
    request: /^GET \/v1\/users\/me$/,
    secret: "ntn_secret_notion",
  },
  {
    name: "context7",
    host: "context7.com",
    env: { CONTEXT7_API_KEY: "ctx7_secret_context7" },
    routes: [{
      path: "/api/v2/libs/search",
      json: {
        results: [{
          id: "/denoland/deno",
          title: `Deno ${CANARY}`,
          description: "A modern runtime",
          totalSnippets: 10,
        }],
      },
    }],
    tool: "resolve-library-id",
    args: { libraryName: "deno", query: "deno" },
    expect: new RegExp(`Deno ${CANARY}[\\s\\S]*/denoland/deno`),
    request: /^GET \/api\/v2\/libs\/search$/,
    secret: "ctx7_secret_context7",
  },
  {
    name: "tavily",
    host: "api.tavily.com",
    env: { TAVILY_API_KEY: "tvly-secret-tavily" },
    routes: [{
      path: "/search",
      json: {
        query: "deno",
        results: [{ title: `Deno ${CANARY}`, url: "https://deno.com", content: "Runtime" }],
      },
    }],
    tool: "tavily_search",
    args: { query: "deno" },
    expect: new RegExp(`Title: Deno ${CANARY}`),
    request: /^POST \/search$/,
    secret: "tvly-secret-tavily",
  },
  {
    name: "firecrawl",
    host: "api.firecrawl.dev",
    env: { FIRECRAWL_API_KEY: "fc-secret-firecrawl" },
    routes: [{
      path: "/v2/scrape",
      json: {
        success: true,
        data: { markdown: `# Deno\n\n${CANARY}`, metadata: { sourceURL: "https://deno.com" } },
      },
    }],
    tool: "firecrawl_scrape",
    args: { url: "https://deno.com" },
    expect: new RegExp(CANARY),
    request: /^POST \/v2\/scrape$/,
    secret: "fc-secret-firecrawl",
  },
  {
    name: "sentry",
    host: "sentry.io",
    env: { SENTRY_ACCESS_TOKEN: "sntrys_secret_sentry" },
    routes: [{
      path: "/api/0/organizations/",
      json: [{
        id: "1",
        slug: `acme-${CANARY.toLowerCase()}`,
        name: "Acme",
        links: { regionUrl: "https://sentry.io", organizationUrl: "https://acme.sentry.io" },
      }],
    }],
    tool: "find_organizations",
    args: {},
    expect: new RegExp(`acme-${CANARY.toLowerCase()}`),
    request: /^GET \/api\/0\/organizations\/$/,
    secret: "sntrys_secret_sentry",
  },
  {
    name: "exa",
    host: "api.exa.ai",
    env: { EXA_API_KEY: "exa_secret_exa" },
    routes: [{
      path: "/search",
      json: {
        requestId: "r1",
        results: [{ id: "1", title: `Deno ${CANARY}`, url: "https://deno.com" }],
      },
    }],
    tool: "web_search_exa",
    args: { query: "deno" },
    expect: new RegExp(`Title: Deno ${CANARY}`),
    request: /^POST \/search$/,
    secret: "exa_secret_exa",
    // The package reports usage to this analytics host; the manifest does not grant it.
    ungranted: ["api.agnost.ai"],
  },
  {
    name: "perplexity",
    host: "api.perplexity.ai",
    env: { PERPLEXITY_API_KEY: "pplx-secret-perplexity" },
    routes: [{
      path: "/search",
      json: { results: [{ title: `Deno ${CANARY}`, url: "https://deno.com", snippet: "x" }] },
    }],
    tool: "perplexity_search",
    args: { query: "deno" },
    expect: new RegExp(`Deno ${CANARY}`),
    request: /^POST \/search$/,
    secret: "pplx-secret-perplexity",
  },
];

let certificates: TestCertificates | undefined;
async function testCertificates(): Promise<TestCertificates> {
  const hosts = CASES.flatMap((c) => [c.host, ...(c.ungranted ?? [])]);
  certificates ??= await makeTestCertificates(tempDir("mcp-run-ca-"), hosts);
  return certificates;
}

function sawSecret(request: FakeRequest, secret: string): boolean {
  return Object.values(request.headers).some((v) => v.includes(secret)) ||
    request.query.includes(secret) || request.body.includes(secret);
}

for (const c of CASES) {
  Deno.test(`${c.name}: works through ${c.host} only, and never through a private address`, async () => {
    const { manifest } = await loadManifest(c.name);
    const server = resolveServer(manifest, { cacheRoot: cache });
    assert.deepEqual(server.net, [c.host]);
    assert.deepEqual(server.run, []);
    // Pull with this machine's own TLS settings; the launches below use the fake CA.
    await prepareServer(server, { cacheRoot: cache, progress: () => {} });
    const certs = await testCertificates();
    const source = { ...c.env, DENO_CERT: certs.caFile };
    const plan = denoLaunchPlan(server, { cacheRoot: cache, source });
    assert.ok(plan.args.includes(`--allow-net=${c.host}`));
    assert.ok(plan.args.some((a) => a.startsWith("--deny-net=") && a.includes("10.0.0.0/8")));

    const launch = async (address: string) => {
      const dir = tempDir();
      const hosts = { [c.host]: address };
      for (const extra of c.ungranted ?? []) hosts[extra] = PUBLIC_ADDRESS;
      const net = await fakeInternetPlan(plan, {
        dir,
        hosts,
        certificates: certs,
        routes: c.routes,
      });
      const stderr: string[] = [];
      const connected = await connectServer(server, {
        cacheRoot: cache,
        source,
        plan: net.plan,
        progress: () => {},
        onStderr: (line: string) => stderr.push(line),
      });
      return { ...connected, net, stderr };
    };

    // Positive: the API host resolves to a public address; the call goes through.
    const open = await launch(PUBLIC_ADDRESS);
    try {
      const tools = (await open.client.listTools()).tools.map((t: { name: string }) => t.name);
      assert.ok(tools.includes(c.tool), `${c.tool} not in ${tools.join(", ")}`);
      const result = await open.client.callTool({ name: c.tool, arguments: c.args });
      const text = resultText(result);
      assert.notEqual(result.isError, true, text);
      assert.match(text, c.expect);
    } finally {
      await open.close();
    }
    const requests = open.net.requests();
    const api = requests.filter((r) => c.request.test(`${r.method} ${r.path}`));
    assert.equal(api.length, 1, JSON.stringify(requests.map((r) => `${r.method} ${r.path}`)));
    assert.ok(sawSecret(api[0], c.secret), "the credential did not reach the API");
    assert.equal(api[0].address, PUBLIC_ADDRESS);
    for (const extra of c.ungranted ?? []) {
      assert.ok(!requests.some((r) => r.host === extra), `${extra} was reached`);
    }

    // Denied: the same granted name now resolves into the private network.
    const closed = await launch(PRIVATE_ADDRESS);
    try {
      // Servers report the refusal in their own words (some as plain text); what matters is
      // that the answer never arrives and no request leaves.
      let text = "";
      try {
        text = resultText(await closed.client.callTool({ name: c.tool, arguments: c.args }));
      } catch (error) {
        text = (error as Error).message;
      }
      assert.doesNotMatch(text, c.expect);
    } finally {
      await closed.close();
    }
    assert.deepEqual(closed.net.requests(), [], "a request reached the private address");
  });
}

for (const c of CASES) {
  Deno.test(`${c.name}: lists all it offers, refused nothing it needs`, async () => {
    const { manifest } = await loadManifest(c.name);
    const server = resolveServer(manifest, { cacheRoot: cache });
    await prepareServer(server, { cacheRoot: cache, progress: () => {} });
    const certificates = await testCertificates();
    const hosts = { [c.host]: PUBLIC_ADDRESS };
    for (const extra of c.ungranted ?? []) hosts[extra] = PUBLIC_ADDRESS;
    await auditCatalogueEntry(server, {
      cacheRoot: cache,
      source: { ...c.env, DENO_CERT: certificates.caFile },
      wrap: async (plan) =>
        (await fakeInternetPlan(plan, { dir: tempDir(), hosts, certificates, routes: c.routes }))
          .plan,
      call: { name: c.tool, arguments: c.args },
    });
  });
}
