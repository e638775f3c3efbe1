/**
 * End to end: catalogue servers that need no internet — databases started from Debian packages
 * on loopback, sequential-thinking, and our own time and fetch servers pulled from a local JSR
 * registry. Each is pulled, launched under exactly its manifest's plan, listed and called
 * through the real MCP SDK client, and shown a capability outside its manifest being denied
 * (with a positive control where a canary is involved). Each is also audited for what its grants
 * quietly cost it (see _catalogue_audit.ts).
 *
 * Requires root for PostgreSQL (apt-get, runuser) and the npm registry for the first pull.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { denoLaunchPlan, type LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { pull } from "../runtime/sandbox/pull.ts";
import { loadManifest } from "../runtime/registry/load.ts";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";
import { auditCatalogueEntry } from "./_catalogue_audit.ts";
import { startJsrRegistry } from "./jsr_registry.ts";
import { startCanary, startPostgres, startRedis } from "./local_services.ts";
import { resultText, ROOT, tempDir } from "./_helpers.ts";

const cache = Deno.env.get("MCP_RUN_TEST_CACHE") ?? join(ROOT, ".cache", "e2e");
const quiet = { progress: () => {}, onStderr: () => {} };

async function resolved(
  name: string,
  params: Record<string, string | string[]> = {},
  cacheRoot = cache,
): Promise<ResolvedServer> {
  const { manifest } = await loadManifest(name);
  return resolveServer(manifest, { params, cacheRoot });
}

/** The plan with one server argument rewritten; the flags stay exactly the manifest's. */
function retarget(plan: LaunchPlan, server: ResolvedServer, from: string, to: string): LaunchPlan {
  const at = plan.args.indexOf(server.specifier);
  assert.ok(at > 0);
  return {
    ...plan,
    args: [
      ...plan.args.slice(0, at + 1),
      ...plan.args.slice(at + 1).map((a) => a.replace(from, to)),
    ],
  };
}

async function call(
  server: ResolvedServer,
  tool: string,
  args: Record<string, unknown>,
  options: { plan?: LaunchPlan; cacheRoot?: string; registries?: Record<string, string> } = {},
): Promise<{ text: string; isError: boolean; tools: string[] }> {
  const { client, close } = await connectServer(server, {
    cacheRoot: options.cacheRoot ?? cache,
    plan: options.plan,
    registries: options.registries,
    ...quiet,
  });
  try {
    const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
    try {
      const result = await client.callTool({ name: tool, arguments: args });
      return { text: resultText(result), isError: result.isError === true, tools };
    } catch (error) {
      return { text: (error as Error).message, isError: true, tools };
    }
  } finally {
    await close();
  }
}

/**
 * Shows a database server reaches only the granted address: the same flags with the connection
 * pointed at a canary listener never connect to it, while granting the canary (positive
 * control) does.
 */
async function assertOnlyGrantedDatabase(
  name: string,
  params: Record<string, string>,
  tool: string,
  args: Record<string, unknown>,
): Promise<void> {
  const canary = startCanary();
  try {
    const server = await resolved(name, params);
    const plan = denoLaunchPlan(server, { cacheRoot: cache });
    const hostile = retarget(plan, server, params.host, canary.host);
    // Some servers connect at start and exit when refused; either way the call fails.
    const denied = await call(server, tool, args, { plan: hostile }).catch((error: Error) => ({
      text: error.message,
      isError: true,
    }));
    assert.equal(denied.isError, true, denied.text);
    assert.equal(canary.hits(), 0, "the server reached an address it was not granted");

    const control = await resolved(name, { ...params, host: canary.host });
    await call(control, tool, args).catch(() => {});
    assert.ok(canary.hits() > 0, "positive control: the granted canary was not reached");
  } finally {
    canary.close();
  }
}

Deno.test("postgres: queries a local PostgreSQL and reaches no other address", async () => {
  const work = tempDir();
  const pg = await startPostgres(
    work,
    "create table pets(name text, kind text); insert into pets values ('Rex','dog'),('Tom','cat');",
  );
  try {
    const params = { host: pg.host, database: "postgres" };
    const server = await resolved("postgres", params);
    assert.deepEqual(server.net, [pg.host]);
    assert.ok(!server.denyNet.includes("127.0.0.0/8"), "the granted address is carved out");
    const result = await call(server, "query", { sql: "select name from pets order by name" });
    assert.ok(result.tools.includes("query"));
    assert.equal(result.isError, false, result.text);
    assert.deepEqual(JSON.parse(result.text), [{ name: "Rex" }, { name: "Tom" }]);
    // The server's own read-only transaction, under our flags, still refuses writes.
    const write = await call(server, "query", { sql: "insert into pets values ('Eve','cat')" });
    assert.equal(write.isError, true);
    await assertOnlyGrantedDatabase("postgres", params, "query", { sql: "select 1" });
  } finally {
    await pg.stop();
  }
});

Deno.test("dbhub: runs SQL on a local PostgreSQL and reaches no other address", async () => {
  const work = tempDir();
  const pg = await startPostgres(work, "create table t(v int); insert into t values (41), (1);");
  try {
    const params = { host: pg.host, database: "postgres", user: "postgres" };
    const server = await resolved("dbhub", params);
    assert.equal(server.read.length, 1);
    assert.match(
      server.read[0],
      /\/deno_dir\/npm\/registry\.npmjs\.org\/@bytebase\/dbhub\/1\.4\.0$/,
    );
    const result = await call(server, "execute_sql", { sql: "select sum(v) as total from t" });
    assert.equal(result.isError, false, result.text);
    assert.match(result.text, /"total": "?42"?/);
    await assertOnlyGrantedDatabase("dbhub", params, "execute_sql", { sql: "select 1" });
  } finally {
    await pg.stop();
  }
});

Deno.test("redis: reads and writes a local Redis and reaches no other address", async () => {
  const redis = await startRedis();
  try {
    const params = { host: redis.host };
    const server = await resolved("redis", params);
    const set = await call(server, "set", { key: "greeting", value: "hello from mcp-run" });
    assert.equal(set.isError, false, set.text);
    const got = await call(server, "get", { key: "greeting" });
    assert.equal(got.text, "hello from mcp-run");
    await assertOnlyGrantedDatabase("redis", params, "get", { key: "greeting" });
  } finally {
    await redis.stop();
  }
});

Deno.test("sequential-thinking: thinks with no grants, and reads only declared variables", async () => {
  const server = await resolved("sequential-thinking");
  assert.deepEqual([server.read, server.write, server.net, server.sys], [[], [], [], []]);
  const thought = {
    thought: "First, list what is known.",
    thoughtNumber: 1,
    totalThoughts: 2,
    nextThoughtNeeded: true,
  };
  const stderrOf = async (s: ResolvedServer, plan: LaunchPlan) => {
    const lines: string[] = [];
    const { client, close } = await connectServer(s, {
      cacheRoot: cache,
      plan,
      progress: () => {},
      onStderr: (line: string) => lines.push(line),
      approve: true, // launched under its registry manifest and a narrowed copy, in turn
    });
    try {
      const result = await client.callTool({ name: "sequentialthinking", arguments: thought });
      assert.equal(JSON.parse(resultText(result)).thoughtNumber, 1);
    } finally {
      await close();
    }
    return lines.join("\n");
  };
  // Declared: the launcher passes DISABLE_THOUGHT_LOGGING and the server honors it.
  const quietPlan = denoLaunchPlan(server, {
    cacheRoot: cache,
    source: { DISABLE_THOUGHT_LOGGING: "true" },
  });
  assert.equal(quietPlan.env.DISABLE_THOUGHT_LOGGING, "true");
  assert.doesNotMatch(await stderrOf(server, quietPlan), /First, list what is known/);
  // Not declared (same package, manifest without the variable): even with the variable forced
  // into its environment the server cannot read it, and keeps logging.
  const { manifest } = await loadManifest("sequential-thinking");
  const undeclared = resolveServer(
    parseManifest(JSON.stringify({ ...manifest, env: {} })),
    { cacheRoot: cache },
  );
  const plan = denoLaunchPlan(undeclared, { cacheRoot: cache });
  assert.ok(!plan.args.some((a) => a.startsWith("--allow-env")));
  const forced = { ...plan, env: { ...plan.env, DISABLE_THOUGHT_LOGGING: "true" } };
  assert.match(await stderrOf(undeclared, forced), /First, list what is known/);
});

Deno.test("time and fetch: pulled from a JSR registry, run with only their grants", async () => {
  const root = tempDir("mcp-run-jsr-cache-");
  const registry = await startJsrRegistry();
  const canary = startCanary();
  const site = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response("<html><body><h1>Hello</h1><p>From a granted host.</p></body></html>", {
        headers: { "content-type": "text/html" },
      }),
  );
  try {
    await registry.publish(join(ROOT, "servers/time"));
    await registry.publish(join(ROOT, "servers/fetch"));
    const registries = { JSR_URL: registry.url };

    const time = await resolved("time", { timezone: "Asia/Tokyo" }, root);
    const timePlan = denoLaunchPlan(time, { cacheRoot: root, registries });
    assert.ok(!timePlan.args.some((a) => a.startsWith("--allow-")), timePlan.args.join(" "));
    const now = await call(time, "get_current_time", {}, { cacheRoot: root, registries });
    assert.equal(JSON.parse(now.text).timezone, "Asia/Tokyo");
    assert.match(JSON.parse(now.text).datetime, /\+09:00$/);

    const siteHost = `127.0.0.1:${site.addr.port}`;
    const fetchServer = await resolved("fetch", { hosts: siteHost }, root);
    assert.deepEqual(fetchServer.net, [siteHost]);
    const page = await call(fetchServer, "fetch", { url: `http://${siteHost}/` }, {
      cacheRoot: root,
      registries,
    });
    assert.equal(page.isError, false, page.text);
    assert.match(page.text, /# Hello\n\nFrom a granted host\./);
    const denied = await call(fetchServer, "fetch", { url: `http://${canary.host}/` }, {
      cacheRoot: root,
      registries,
    });
    assert.equal(denied.isError, true);
    assert.match(denied.text, /was not granted/);
    assert.equal(canary.hits(), 0);
    assert.ok(registry.requests.includes("GET /@sandboxed/fetch/0.1.0/mod.ts"));
  } finally {
    canary.close();
    await site.shutdown();
    await registry.close();
  }
});

Deno.test("pull refuses a JSR package whose bytes differ from the registry's checksums", async () => {
  const root = tempDir("mcp-run-jsr-cache-");
  const registry = await startJsrRegistry();
  try {
    await registry.publish(join(ROOT, "servers/time"));
    registry.tamper(
      "@sandboxed/time@0.1.0",
      "/mod.ts",
      'Deno.writeTextFileSync("/tmp/pwned", "x");\n',
    );
    const time = await resolved("time", {}, root);
    await assert.rejects(
      pull(time, { cacheRoot: root, registries: { JSR_URL: registry.url }, progress: () => {} }),
      /Cannot pull jsr:@sandboxed\/time@0\.1\.0[\s\S]*Integrity check failed/,
    );
    // Nothing was recorded as pulled, so nothing can run from this cache.
    await assert.rejects(
      connectServer(time, {
        cacheRoot: root,
        registries: { JSR_URL: registry.url },
        autoPull: false,
        ...quiet,
      }),
      /not pulled yet/,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("postgres: lists all it offers, refused nothing it needs", async () => {
  const pg = await startPostgres(tempDir(), "create table pets(name text);");
  try {
    const server = await resolved("postgres", { host: pg.host, database: "postgres" });
    await auditCatalogueEntry(server, {
      cacheRoot: cache,
      call: { name: "query", arguments: { sql: "select count(*) from pets" } },
    });
  } finally {
    await pg.stop();
  }
});

Deno.test("dbhub: lists all it offers, refused nothing it needs", async () => {
  const pg = await startPostgres(tempDir(), "create table t(v int);");
  try {
    const params = { host: pg.host, database: "postgres", user: "postgres" };
    const server = await resolved("dbhub", params);
    await auditCatalogueEntry(server, {
      cacheRoot: cache,
      call: { name: "execute_sql", arguments: { sql: "select count(*) from t" } },
    });
  } finally {
    await pg.stop();
  }
});

Deno.test("redis: lists all it offers, refused nothing it needs", async () => {
  const redis = await startRedis();
  try {
    const server = await resolved("redis", { host: redis.host });
    await auditCatalogueEntry(server, {
      cacheRoot: cache,
      call: { name: "get", arguments: { key: "nothing" } },
    });
  } finally {
    await redis.stop();
  }
});

Deno.test("sequential-thinking: lists all it offers, refused nothing it needs", async () => {
  await auditCatalogueEntry(await resolved("sequential-thinking"), {
    cacheRoot: cache,
    call: {
      name: "sequentialthinking",
      arguments: { thought: "One.", thoughtNumber: 1, totalThoughts: 1, nextThoughtNeeded: false },
    },
  });
});

for (
  const [name, params, call] of [
    ["time", {}, { name: "get_current_time", arguments: {} }],
    ["fetch", { hosts: "127.0.0.1:9" }, undefined],
  ] as const
) {
  Deno.test(`${name}: lists all it offers, refused nothing it needs`, async () => {
    const root = tempDir("mcp-run-jsr-cache-");
    const registry = await startJsrRegistry();
    try {
      await registry.publish(join(ROOT, "servers", name));
      await auditCatalogueEntry(await resolved(name, params, root), {
        cacheRoot: root,
        registries: { JSR_URL: registry.url },
        call,
      });
    } finally {
      await registry.close();
    }
  });
}
