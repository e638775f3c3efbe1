import assert from "node:assert/strict";
import { join } from "node:path";
import type { AdoptPackage } from "./adopt_entry.ts";
import { resolveAdoptVersion } from "./adopt_version.ts";

function pkg(p: Partial<AdoptPackage> & Pick<AdoptPackage, "kind" | "name">): AdoptPackage {
  return { args: [], env: {}, passEnv: [], via: "test", ...p };
}

/** A fetch that answers from a table and records the URLs and Accept headers asked. */
function fakeFetch(answers: Record<string, unknown>, asked: string[]): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    asked.push(`${url} ${new Headers(init?.headers).get("accept") ?? ""}`.trim());
    const body = answers[url];
    return Promise.resolve(
      body === undefined ? new Response("no", { status: 404 }) : Response.json(body),
    );
  }) as typeof fetch;
}

Deno.test("resolveAdoptVersion() asks NPM_CONFIG_REGISTRY for the dist-tag the command named", async () => {
  const asked: string[] = [];
  const fetch = fakeFetch({
    "http://npm.test/@scope%2fsrv": { "dist-tags": { latest: "2.0.0", next: "3.0.0-rc.1" } },
  }, asked);
  const env = { NPM_CONFIG_REGISTRY: "http://npm.test" };
  assert.equal(
    await resolveAdoptVersion(pkg({ kind: "npm", name: "@scope/srv" }), { env, fetch }),
    "2.0.0",
  );
  assert.equal(
    await resolveAdoptVersion(pkg({ kind: "npm", name: "@scope/srv", wanted: "next" }), {
      env,
      fetch,
    }),
    "3.0.0-rc.1",
  );
  assert.deepEqual(asked, ["http://npm.test/@scope%2fsrv", "http://npm.test/@scope%2fsrv"]);
});

Deno.test("resolveAdoptVersion() takes the newest final release from the PyPI JSON index", async () => {
  const asked: string[] = [];
  const fetch = fakeFetch({
    "http://pypi.test/simple/mcp-server-time/": {
      versions: ["0.9.0", "2026.1.9", "2026.10.19", "2027.1.0rc1", "2026.2.1"],
    },
  }, asked);
  const env = { PIP_INDEX_URL: "http://pypi.test/simple" };
  const version = await resolveAdoptVersion(pkg({ kind: "pypi", name: "MCP_Server.Time" }), {
    env,
    fetch,
  });
  assert.equal(version, "2026.10.19");
  assert.deepEqual(asked, [
    "http://pypi.test/simple/mcp-server-time/ application/vnd.pypi.simple.v1+json",
  ]);
});

Deno.test("resolveAdoptVersion() reads an installed package, keeps a pinned one, says why it fails", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "package.json"), JSON.stringify({ version: "1.4.2" }));
  const none = fakeFetch({}, []);
  assert.equal(
    await resolveAdoptVersion(pkg({ kind: "npm", name: "srv", installedAt: dir }), { fetch: none }),
    "1.4.2",
  );
  assert.equal(
    await resolveAdoptVersion(pkg({ kind: "npm", name: "x", version: "1.0.0" })),
    "1.0.0",
  );
  assert.equal(
    await resolveAdoptVersion(pkg({ kind: "oci", name: "mcp/time", wanted: "latest" })),
    undefined,
  );
  await assert.rejects(
    resolveAdoptVersion(pkg({ kind: "npm", name: "missing" }), { fetch: none }),
    /answered 404; pin the version in the entry/,
  );
});
