/**
 * End to end: `mcp-run adopt` on a realistic configuration of each of the eight clients, with
 * mixed entries — catalogue `npx`/`npm exec` servers (filesystem with a folder, github with a
 * pasted token), a server outside the catalogue (the archived Brave Search server, with a key),
 * an HTTP/URL entry, an unknown command, a `uvx` PyPI server and a `docker run` image — with
 * comments, CRLF line endings and a byte order mark where the client allows them.
 *
 * Every entry is adopted or listed with its reason; every byte outside the rewritten entries is
 * kept; no secret value is left in the file; each adopted entry, read and started exactly as its
 * client would, answers tools/list to the real MCP SDK client; `adopt --undo` puts back the
 * original bytes.
 *
 * The drafter of manifests for servers outside the catalogue (learn) is injected: it hands back
 * tests/testdata/adopt/server-brave-search.jsonc, the draft that
 * `mcp-run learn npm:@modelcontextprotocol/server-brave-search@0.6.2 --env BRAVE_API_KEY --write F`
 * wrote, byte for byte.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findNodeAtLocation, parse as jsoncParse, parseTree } from "jsonc-parser";
import { isMap, isSeq, parseDocument } from "yaml";
import { adoptCommand, type AdoptCommandOptions } from "../runtime/cli/adopt.ts";
import { parseCommandLine, readContext } from "../runtime/cli/options.ts";
import { loadUserConfig } from "../runtime/cli/user_config.ts";
import type { AdoptDraft, AdoptEntryPlan, AdoptResult } from "../runtime/clients/adopt.ts";
import { clientConfigPath } from "../runtime/clients/config_path.ts";
import { getClient } from "../runtime/clients/registry.ts";
import type { ClientId } from "../runtime/clients/types.ts";
import { learnServer } from "../runtime/learn/learn_server.ts";
import { loadManifest } from "../runtime/registry/load.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { dockerProblem, IMAGE, PYTHON_IMAGE } from "./_docker.ts";
import { ROOT, tempDir, toolEnv } from "./_helpers.ts";
import { publishTimeServerImage } from "./_oci_server_image.ts";
import { startOciRegistry } from "./oci_registry.ts";
import { READERS, withEntryClient } from "./_client_readers.ts";

const problem = await dockerProblem("adopt_e2e_test.ts: skipping", { python: true });
const FIXTURES = join(ROOT, "tests", "testdata", "adopt");
const cache = tempDir("mcp-run-adopt-cache-");
const GITHUB_TOKEN = `ghp_ADOPTCANARY${crypto.randomUUID().replaceAll("-", "")}`;
const BRAVE_KEY = `BSA_ADOPTCANARY${crypto.randomUUID().replaceAll("-", "")}`;

/** The fixture of each client, and how its bytes are laid out. */
const LAYOUT: Record<ClientId, { fixture: string; crlf?: boolean; bom?: boolean }> = {
  "claude-desktop": { fixture: "claude-desktop.json", crlf: true },
  vscode: { fixture: "vscode.jsonc", crlf: true, bom: true },
  cursor: { fixture: "cursor.jsonc", crlf: true },
  "claude-code": { fixture: "claude-code.json" },
  windsurf: { fixture: "windsurf.jsonc", crlf: true },
  zed: { fixture: "zed.jsonc" },
  goose: { fixture: "goose.yaml", crlf: true },
  continue: { fixture: "continue" },
};

/** Entries adopted, and the tool each answers with. */
const ADOPTED: Record<string, string> = {
  files: "read_text_file",
  github: "search_repositories",
  brave: "brave_web_search",
  time: "get_current_time",
  clock: "get_current_time",
};
/** Entries left, and why. */
const LEFT: Record<string, RegExp> = {
  remote: /remote .*runs elsewhere/,
  odd: /unknown command/,
  developer: /builtin extension/,
};

let learned: Promise<AdoptDraft> | undefined;

/**
 * The drafter: a real learn run of the archived Brave Search server (outside the catalogue),
 * made once: every client's entry names the same package. Its draft is the recorded one.
 */
function learnOnce(
  target: string,
  options: { args: string[]; env: string[] },
): Promise<AdoptDraft> {
  assert.match(target, /^npm:@modelcontextprotocol\/server-brave-search@\d+\.\d+\.\d+$/);
  learned ??= (async () => {
    const draft = await learnServer(target, { ...options, probe: true, source: toolEnv() });
    assert.ok(draft.initialized, `learn could not start ${target}: ${draft.failure}`);
    const recorded = await Deno.readTextFile(join(FIXTURES, "server-brave-search.jsonc"));
    assert.equal(draft.text, recorded);
    return draft;
  })();
  return learned;
}

function fill(text: string, values: Record<string, string>, layout: { crlf?: boolean }): string {
  let out = text;
  for (const [k, v] of Object.entries(values)) out = out.replaceAll(`@${k}@`, v);
  return layout.crlf ? out.replaceAll("\n", "\r\n") : out;
}

/** Lays out the client's file(s) in `home`; returns the files (path → original bytes). */
async function writeFixture(
  client: ClientId,
  home: string,
  values: Record<string, string>,
): Promise<Map<string, Uint8Array>> {
  const layout = LAYOUT[client];
  const environment = { os: "linux" as const, home, cwd: home };
  const files = new Map<string, string>();
  if (client === "continue") {
    const dir = join(home, ".continue", "mcpServers");
    for (const name of ["servers.yaml", "more.yaml"]) {
      files.set(join(dir, name), join(FIXTURES, "continue", name));
    }
  } else {files.set(
      clientConfigPath(client, { environment, name: "x" }),
      join(FIXTURES, layout.fixture),
    );}
  const out = new Map<string, Uint8Array>();
  for (const [file, fixture] of files) {
    await Deno.mkdir(join(file, ".."), { recursive: true });
    const text = (layout.bom ? "\uFEFF" : "") +
      fill(await Deno.readTextFile(fixture), values, layout);
    const bytes = new TextEncoder().encode(text);
    await Deno.writeFile(file, bytes);
    out.set(file, bytes);
  }
  return out;
}

/** Line start of `pos`, and the offset past the line break that ends the line holding `end - 1`. */
function wholeLines(text: string, start: number, end: number): [number, number] {
  const from = text.lastIndexOf("\n", start - 1) + 1;
  const nl = text.indexOf("\n", Math.max(end - 1, start));
  return [from, nl === -1 ? text.length : nl + 1];
}

/**
 * `text` with the named entries (and VS Code's inputs) cut out, so what is left must be
 * byte-identical before and after adopt.
 */
function outsideEntries(text: string, client: ClientId, names: string[]): string {
  const spec = getClient(client);
  const cuts: [number, number][] = [];
  if (spec.format === "jsonc") {
    const body = text.replace(/^\uFEFF/, "");
    const shift = text.length - body.length;
    const root = parseTree(body, [], { allowTrailingComma: true });
    for (const name of names) {
      const node = findNodeAtLocation(root!, [spec.containerKey, name])?.parent;
      if (node) cuts.push([node.offset + shift, node.offset + node.length + shift]);
    }
    const inputs = findNodeAtLocation(root!, ["inputs"]);
    if (client === "vscode" && inputs) {
      cuts.push([inputs.offset + shift, inputs.offset + inputs.length + shift]);
    }
  } else {
    const doc = parseDocument(text);
    const container = doc.get(spec.containerKey, true);
    for (const name of names) {
      if (isMap(container)) {
        const pair = container.items.find((p) =>
          String((p.key as { value: unknown }).value) === name
        );
        const key = pair?.key as { range?: number[] } | undefined;
        const value = pair?.value as { range?: number[] } | undefined;
        if (key?.range && value?.range) cuts.push(wholeLines(text, key.range[0], value.range[1]));
      } else if (isSeq(container)) {
        const item = container.items.find((i) => isMap(i) && i.get("name") === name) as
          | { range?: number[] }
          | undefined;
        if (item?.range) cuts.push(wholeLines(text, item.range[0], item.range[1]));
      }
    }
  }
  cuts.sort((a, b) => b[0] - a[0]);
  let out = text;
  for (const [from, to] of cuts) out = out.slice(0, from) + "<entry>" + out.slice(to);
  return out;
}

function listTools(
  launch: { command: string; args: string[]; env: Record<string, string> },
  label: string,
): Promise<string[]> {
  return withEntryClient(
    launch,
    `adopt-${label}`,
    async (mcp) => (await mcp.listTools()).tools.map((t: { name: string }) => t.name),
  );
}

/** Runs `mcp-run adopt` in this process (so the drafter can be injected), with JSON output. */
async function adopt(
  client: ClientId,
  home: string,
  registry: string,
  options: Omit<AdoptCommandOptions, "client"> = {},
): Promise<{ code: number; result: AdoptResult & Record<string, unknown>; log: string }> {
  const config = join(home, ".config", "mcp-run", "config.json");
  const env = { ...toolEnv(), HOME: home, MCP_RUN_CONFIG: config };
  const line = ["adopt", "--client", client, "--cache", cache, "--format", "json"];
  const { values } = await parseCommandLine([...line, "--registry", registry, "--network", "host"]);
  const out: string[] = [];
  const log: string[] = [];
  const ctx = await readContext(values, {
    command: "adopt",
    env,
    defaults: await loadUserConfig(env),
    print: (t) => out.push(t),
    printError: (t) => log.push(t),
  });
  const code = await adoptCommand(ctx, {
    client,
    learn: learnOnce,
    interactive: false,
    ...options,
  });
  return { code, result: JSON.parse(out.join("\n")), log: log.join("\n") };
}

/** A home with mcp-run's config pointing at the stand-in images, and a folder to serve. */
async function scene(): Promise<{ work: string; home: string; data: string }> {
  const work = tempDir("mcp-run-adopt-");
  const home = join(work, "home");
  const data = join(work, "data");
  await Deno.mkdir(join(home, ".config", "mcp-run"), { recursive: true });
  await Deno.mkdir(data);
  // The container user may not be this user.
  await Deno.chmod(data, 0o777);
  await Deno.writeTextFile(join(data, "note.txt"), "hello");
  await Deno.writeTextFile(
    join(home, ".config", "mcp-run", "config.json"),
    JSON.stringify({ images: { deno: IMAGE, python: PYTHON_IMAGE } }),
  );
  return { work, home, data };
}

/** A registry folder whose time-image names the image the loopback registry serves. */
async function timeImageRegistry(work: string, ref: string): Promise<string> {
  const dir = join(work, "registry");
  await Deno.mkdir(dir);
  const { manifest } = await loadManifest("time-image");
  await Deno.writeTextFile(
    join(dir, "time-image.jsonc"),
    JSON.stringify({ ...manifest, package: `oci:${ref}` }, null, 2),
  );
  return dir;
}

function byName(result: AdoptResult): Map<string, AdoptEntryPlan> {
  return new Map(result.entries.map((e) => [e.name, e]));
}

for (const client of Object.keys(LAYOUT) as ClientId[]) {
  Deno.test({
    name: `adoptCommand() adopts a mixed ${client} configuration in place, and --undo restores it`,
    ignore: problem !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const { work, home, data } = await scene();
    const oci = await startOciRegistry();
    try {
      const ref = await publishTimeServerImage(oci);
      // The engine keeps the pushed image: forget it, so adopt's pull must bring it.
      await runDocker(["rmi", ref]);
      const registry = await timeImageRegistry(work, ref);
      const originals = await writeFixture(client, home, {
        DATA: data,
        REGISTRY: ref.split("/")[0],
        GITHUB_TOKEN,
        BRAVE_KEY,
      });

      const { code, result, log } = await adopt(client, home, registry, { yes: true });
      assert.equal(code, 0, log);
      const plans = byName(result);
      for (const [name, tool] of Object.entries(ADOPTED)) {
        const plan = plans.get(name);
        assert.equal(plan?.action, "adopt", `${name}: ${JSON.stringify(plan)}\n${log}`);
        assert.ok(tool);
      }
      assert.equal(plans.get("files")?.target, "filesystem");
      assert.deepEqual(plans.get("files")?.params, { dirs: [data] });
      assert.equal(plans.get("github")?.target, "github");
      assert.deepEqual(plans.get("github")?.secrets, ["GITHUB_PERSONAL_ACCESS_TOKEN"]);
      assert.equal(plans.get("time")?.target, "mcp-server-time");
      assert.deepEqual(plans.get("time")?.params, { timezone: ["Europe/Paris"] });
      assert.equal(plans.get("clock")?.target, "time-image");
      const brave = plans.get("brave")!;
      assert.equal(brave.catalogue, false);
      assert.equal(
        brave.target,
        join(
          home,
          ".config",
          "mcp-run",
          "manifests",
          "modelcontextprotocol-server-brave-search.jsonc",
        ),
      );
      assert.ok(Deno.statSync(brave.target!).isFile);
      for (const [name, reason] of Object.entries(LEFT)) {
        const plan = plans.get(name);
        if (plan === undefined && name === "developer") continue;
        assert.equal(plan?.action, "leave", name);
        assert.match(plan!.reason!, reason);
      }
      assert.equal(
        result.entries.length,
        Object.keys(ADOPTED).length + 2 + (client === "goose" ? 1 : 0),
      );

      // Only the adopted entries changed; no secret value is left in any file.
      for (const [file, before] of originals) {
        const after = await Deno.readTextFile(file);
        const old = new TextDecoder("utf-8", { ignoreBOM: true }).decode(before);
        const names = result.entries.filter((e) => e.file === file && e.action === "adopt")
          .map((e) => e.name);
        assert.equal(
          outsideEntries(after, client, names),
          outsideEntries(old, client, names),
          file,
        );
        assert.ok(!after.includes(GITHUB_TOKEN) && !after.includes(BRAVE_KEY), file);
        if (LAYOUT[client].crlf) assert.ok(!/[^\r]\n/.test(after), "a bare LF in a CRLF file");
        if (LAYOUT[client].bom) assert.ok(after.startsWith("\uFEFF"), "the BOM was dropped");
        if (client === "vscode") {
          // The user's own input is kept beside the prompts the secrets now come from.
          const ids = (jsoncParse(after.slice(1)).inputs as { id: string }[]).map((i) => i.id);
          assert.deepEqual(ids, [
            "openai-key",
            "github-GITHUB_PERSONAL_ACCESS_TOKEN",
            "brave-BRAVE_API_KEY",
          ]);
        }
      }

      // A client that cannot reference a secret gets it from a 0600 env file, in docker.
      if (getClient(client).secrets === "none") {
        for (
          const [name, line] of [["github", /^GITHUB_PERSONAL_ACCESS_TOKEN=ghp_/], [
            "brave",
            /^BRAVE_API_KEY=BSA_/,
          ]] as const
        ) {
          const envFile = plans.get(name)!.envFile!;
          assert.equal(Deno.statSync(envFile).mode! & 0o777, 0o600, envFile);
          assert.match(Deno.readTextFileSync(envFile), line);
        }
      }

      // Each adopted entry starts as its client starts it and answers tools/list.
      const file = [...originals.keys()][0];
      const vars = { GITHUB_PERSONAL_ACCESS_TOKEN: GITHUB_TOKEN, BRAVE_API_KEY: BRAVE_KEY };
      await Promise.all(
        Object.entries(ADOPTED).map(async ([name, tool]) => {
          const launch = await READERS[client]({ file, name, vars, home, project: work });
          assert.equal(launch.env.MCP_RUN_MANAGED, "1");
          const envFile = plans.get(name)!.envFile;
          if (envFile) assert.equal(launch.args[launch.args.indexOf("--env-file") + 1], envFile);
          const tools = await listTools(launch, `${client}/${name}`);
          assert.ok(tools.includes(tool), `${client}/${name}: ${tools.join(",")}`);
        }),
      );

      const undone = await adopt(client, home, registry, { undo: true });
      assert.equal(undone.code, 0, undone.log);
      for (const [file, before] of originals) {
        assert.deepEqual(await Deno.readFile(file), before, `${file} was not restored`);
      }
    } finally {
      await oci.close();
    }
  });
}
