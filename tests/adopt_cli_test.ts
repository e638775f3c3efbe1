/**
 * `mcp-run adopt` as a user runs it: the dry run's plan (nothing written), entries it refuses to
 * adopt (a grant of the whole file system, a name the client cannot keep), drafts waiting for
 * approval when no one can be asked, drafts approved before reused without learning again, and
 * `--undo` refusing a file edited since (unless `--force`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { adoptCommand, type AdoptCommandOptions } from "../runtime/cli/adopt.ts";
import { parseCommandLine, readContext } from "../runtime/cli/options.ts";
import { loadUserConfig } from "../runtime/cli/user_config.ts";
import type { AdoptDraft, AdoptEntryPlan, AdoptResult } from "../runtime/clients/adopt.ts";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { cli, ROOT, tempDir, toolEnv } from "./_helpers.ts";

const cache = tempDir("mcp-run-adopt-cli-cache-");
const DRAFT = join(ROOT, "tests", "testdata", "adopt", "server-brave-search.jsonc");
const TOKEN = `ghp_ADOPTCANARY${crypto.randomUUID().replaceAll("-", "")}`;

/** A home with a Cursor configuration; returns the paths and the original text. */
function scene(servers: Record<string, unknown>): { home: string; file: string; text: string } {
  const work = tempDir("mcp-run-adopt-cli-");
  const home = join(work, "home");
  Deno.mkdirSync(join(home, ".cursor"), { recursive: true });
  const file = join(home, ".cursor", "mcp.json");
  const text = `{\n  // mine\n  "mcpServers": ${
    JSON.stringify(servers, null, 2).replaceAll("\n", "\n  ")
  }\n}\n`;
  Deno.writeTextFileSync(file, text);
  return { home, file, text };
}

async function adopt(
  home: string,
  options: AdoptCommandOptions,
): Promise<{ code: number; result: AdoptResult; plans: Map<string, AdoptEntryPlan> }> {
  const env = { ...toolEnv(), HOME: home };
  const { values } = await parseCommandLine(["adopt", "--cache", cache, "--format", "json"]);
  const out: string[] = [];
  const ctx = await readContext(values, {
    command: "adopt",
    env,
    defaults: await loadUserConfig(env),
    print: (t) => out.push(t),
    printError: () => {},
  });
  const code = await adoptCommand(ctx, { client: "cursor", interactive: false, ...options });
  const result = JSON.parse(out.join("\n")) as AdoptResult;
  return { code, result, plans: new Map(result.entries?.map((e) => [e.name, e]) ?? []) };
}

async function learnStub(): Promise<AdoptDraft> {
  const text = await Deno.readTextFile(DRAFT);
  return {
    manifest: parseManifest(text),
    text,
    label: ["Receives secrets: BRAVE_API_KEY"],
  };
}

const FILESYSTEM = "@modelcontextprotocol/server-filesystem";

Deno.test({
  name: "mcp-run adopt --dry-run prints the plan of every entry and writes nothing",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { home, file, text } = scene({
    files: { command: "npx", args: ["-y", FILESYSTEM, "/srv/docs"] },
    github: {
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-github"],
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: TOKEN },
    },
    remote: { url: "https://mcp.example.com/mcp" },
    odd: { command: "/opt/tools/my-server" },
  });
  const plain = await cli(["adopt", "--client", "cursor", "--dry-run", "--cache", cache], {
    env: { HOME: home },
  });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(
    plain.stdout,
    /files: would be adopted as filesystem \(catalogue\) -p dirs=\/srv\/docs/,
  );
  assert.match(plain.stdout, /github: would be adopted as github/);
  assert.match(plain.stdout, /GITHUB_PERSONAL_ACCESS_TOKEN leave the file: Cursor reads/);
  assert.match(
    plain.stdout,
    /remote: left as it is: a remote HTTP server at https:\/\/mcp\.example\.com/,
  );
  assert.match(plain.stdout, /odd: left as it is: an unknown command/);
  assert.match(plain.stdout, /Dry run: nothing was written\./);
  assert.ok(!plain.stdout.includes(TOKEN), "the plan printed a secret value");
  assert.equal(Deno.readTextFileSync(file), text);

  const json = await cli(
    ["adopt", "--file", file, "--dry-run", "--cache", cache, "--format", "json"],
    { env: { HOME: home } },
  );
  assert.equal(json.code, 0, json.stderr);
  const result = JSON.parse(json.stdout);
  assert.equal(result.client, "cursor", "the client is told by the file's name");
  assert.deepEqual(result.entries.map((e: AdoptEntryPlan) => [e.name, e.action]), [
    ["files", "adopt"],
    ["github", "adopt"],
    ["remote", "leave"],
    ["odd", "leave"],
  ]);
  assert.deepEqual(result.written, []);
  assert.equal(Deno.readTextFileSync(file), text);
});

Deno.test({
  name:
    "adoptCommand() leaves an entry that would grant the whole file system, and adopts its sibling",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { home, file, text } = scene({
    root: { command: "npx", args: ["-y", FILESYSTEM, "/"] },
    "my docs": { command: "npx", args: ["-y", FILESYSTEM, tempDir()] },
    files: { command: "npx", args: ["-y", FILESYSTEM, tempDir()] },
    // Flags in a server's arguments must stay the server's, never become Deno's.
    sneaky: { command: "npx", args: ["-y", FILESYSTEM, tempDir(), "-A", "--allow-all"] },
  });
  const { code, plans } = await adopt(home, { yes: true });
  assert.equal(code, 0);
  assert.equal(plans.get("root")?.action, "leave");
  assert.match(plans.get("root")!.reason!, /whole file system/);
  assert.equal(plans.get("my docs")?.action, "leave");
  assert.match(plans.get("my docs")!.reason!, /entry name/);
  // Positive control: the same server with a real folder is adopted.
  assert.equal(plans.get("files")?.action, "adopt", JSON.stringify(plans.get("files")));
  const after = Deno.readTextFileSync(file);
  // The refused entries are left byte for byte.
  assert.ok(after.includes(text.slice(text.indexOf('"root"'), text.indexOf('"files"'))));
  assert.match(after, /"--allow-read=/);
  assert.equal(plans.get("sneaky")?.action, "adopt");
  assert.match(
    plans.get("sneaky")!.notes.join("\n"),
    /passes -A --allow-all on to the server after --/,
  );
  const { mcpServers } = JSON.parse(after.replace("// mine", ""));
  const args: string[] = mcpServers.sneaky.args;
  const spec = args.findIndex((a) => a.startsWith("npm:@modelcontextprotocol/server-filesystem@"));
  assert.ok(spec > 0, args.join(" "));
  assert.deepEqual(args.slice(spec + 2), ["-A", "--allow-all"]);
  assert.ok(!args.slice(0, spec).some((a) => a === "-A" || a === "--allow-all"), args.join(" "));
});

Deno.test({
  name:
    "adoptCommand() leaves a draft waiting for approval when no one can be asked, and reuses an approved one",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const brave = {
    command: "npx",
    args: ["-y", "@modelcontextprotocol/server-brave-search"],
    env: { BRAVE_API_KEY: "BSA_x" },
  };
  const { home, file, text } = scene({ brave });
  const drafts = join(home, ".config", "mcp-run", "manifests");
  const waiting = await adopt(home, { learn: learnStub });
  assert.equal(waiting.plans.get("brave")?.action, "approve");
  assert.match(waiting.plans.get("brave")!.reason!, /needs approval/);
  assert.deepEqual(waiting.plans.get("brave")?.draft?.label, [
    "Receives secrets: BRAVE_API_KEY",
  ]);
  assert.equal(Deno.readTextFileSync(file), text, "an unapproved draft changed the file");
  assert.equal(await Deno.stat(drafts).then(() => true, () => false), false);

  // Approved on the terminal: the draft is written and the entry refers to it.
  const asked: string[] = [];
  const approved = await adopt(home, {
    learn: learnStub,
    interactive: true,
    ask: (question) => {
      asked.push(question);
      return Promise.resolve("y");
    },
  });
  assert.deepEqual(asked, ['Adopt "brave" with this manifest? [y/N] ']);
  assert.equal(approved.plans.get("brave")?.action, "adopt");
  assert.equal(
    approved.plans.get("brave")?.target,
    join(drafts, "modelcontextprotocol-server-brave-search.jsonc"),
  );
  // The draft as learn wrote it, named after its file: the name keys its approval.
  assert.equal(
    Deno.readTextFileSync(join(drafts, "modelcontextprotocol-server-brave-search.jsonc")),
    Deno.readTextFileSync(DRAFT).replace(
      '"name": "server-brave-search"',
      '"name": "modelcontextprotocol-server-brave-search"',
    ),
  );

  // Another configuration with the same server reuses the draft: learn is not asked again.
  const other = scene({ search: brave });
  Deno.mkdirSync(join(other.home, ".config", "mcp-run", "manifests"), { recursive: true });
  Deno.copyFileSync(
    join(drafts, "modelcontextprotocol-server-brave-search.jsonc"),
    join(
      other.home,
      ".config",
      "mcp-run",
      "manifests",
      "modelcontextprotocol-server-brave-search.jsonc",
    ),
  );
  const reused = await adopt(other.home, {
    learn: () => Promise.reject(new Error("learn ran again")),
  });
  assert.equal(
    reused.plans.get("search")?.action,
    "adopt",
    JSON.stringify(reused.plans.get("search")),
  );
  assert.match(reused.plans.get("search")!.notes.join("\n"), /approved before/);
});

Deno.test({
  name: "adoptCommand() --undo refuses a file edited since adopt, unless --force",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { home, file, text } = scene({
    files: { command: "npx", args: ["-y", FILESYSTEM, tempDir()] },
    github: {
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-github"],
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: TOKEN },
    },
  });
  const adopted = await adopt(home, {});
  assert.equal(adopted.result.written.length, 1);
  const undo = adopted.result.written[0].undo;
  assert.equal(Deno.statSync(undo).mode! & 0o777, 0o600, "the original holds a token");
  assert.ok(!Deno.readTextFileSync(file).includes(TOKEN));

  Deno.writeTextFileSync(file, Deno.readTextFileSync(file).replace("// mine", "// edited"));
  const edited = Deno.readTextFileSync(file);
  const refused = await cli(["adopt", "--client", "cursor", "--undo"], { env: { HOME: home } });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stdout, /changed since adopt wrote it; add --force/);
  assert.equal(Deno.readTextFileSync(file), edited);

  const forced = await cli(["adopt", "--client", "cursor", "--undo", "--force"], {
    env: { HOME: home },
  });
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^Restored /);
  assert.equal(Deno.readTextFileSync(file), text);
  assert.equal(await Deno.stat(undo).then(() => true, () => false), false);
  const again = await cli(["adopt", "--client", "cursor", "--undo"], { env: { HOME: home } });
  assert.match(again.stdout, /adopt has not rewritten it/);
});

/** A Claude Desktop file in `home` holding these servers. */
function desktopFile(home: string, servers: Record<string, unknown>): string {
  const file = join(home, "claude_desktop_config.json");
  Deno.writeTextFileSync(file, JSON.stringify({ mcpServers: servers }, null, 2));
  return file;
}

const GITHUB = {
  command: "npx",
  args: ["-y", "@modelcontextprotocol/server-github"],
  env: { GITHUB_PERSONAL_ACCESS_TOKEN: TOKEN },
};

Deno.test({
  name:
    "adoptCommand() keeps a Claude Desktop entry's env file in the secrets folder, whatever its name",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { home } = scene({});
  const file = desktopFile(home, { "../../../evil": GITHUB, "a/b": GITHUB, github: GITHUB });
  const { plans } = await adopt(home, { client: "claude-desktop", file, dryRun: true });
  const secrets = join(home, ".config", "mcp-run", "secrets");
  const files = ["../../../evil", "a/b", "github"].map((n) => plans.get(n)?.envFile ?? "");
  for (const f of files) {
    assert.ok(f.startsWith(secrets + "/") && !f.slice(secrets.length + 1).includes("/"), f);
    assert.ok(!f.includes(".."), f);
  }
  assert.equal(new Set(files).size, 3, "two entries share an env file");
  // Positive control: a plain name keeps its readable file name.
  assert.equal(files[2], join(secrets, "claude-desktop-github.env"));
  assert.match(plans.get("github")!.notes.join("\n"), /adopting it needs Docker/);
});

Deno.test({
  name: "adoptCommand() --form deno tells how a Claude Desktop entry with a token can be adopted",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { home } = scene({});
  const file = desktopFile(home, { github: GITHUB });
  const { plans } = await adopt(home, {
    client: "claude-desktop",
    file,
    dryRun: true,
    form: "deno",
  });
  assert.equal(plans.get("github")?.action, "leave");
  const reason = plans.get("github")!.reason!;
  assert.match(reason, /--form deno has no way to pass the values/);
  assert.match(reason, /leave out --form \(or use --form docker\)/);
  assert.ok(!reason.includes("no env file was given"));
});

Deno.test({
  name: "adoptCommand() --dry-run names the learn run that drafts a server outside the catalogue",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { home } = scene({
    brave: {
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-brave-search"],
      env: { BRAVE_API_KEY: "BSA_x" },
    },
  });
  const { plans } = await adopt(home, { dryRun: true, learn: learnStub });
  assert.equal(plans.get("brave")?.action, "approve");
  assert.match(plans.get("brave")!.reason!, /drafts its manifest with a learn run/);
  assert.match(
    plans.get("brave")!.reason!,
    /mcp-run learn npm:@modelcontextprotocol\/server-brave-search@\d+\.\d+\.\d+ --env BRAVE_API_KEY/,
  );
});

Deno.test({
  name: "mcp-run adopt prints entry-chosen names and reasons with control characters escaped",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { home } = scene({
    "evil\u001b[2J": { command: "/opt/\u202eexe.txt" },
    plain: { command: "/opt/tools/my-server" },
  });
  const out = await cli(["adopt", "--client", "cursor", "--dry-run", "--cache", cache], {
    env: { HOME: home },
  });
  assert.equal(out.code, 0, out.stderr);
  assert.ok(!out.stdout.includes("\u001b") && !out.stdout.includes("\u202e"), out.stdout);
  assert.match(
    out.stdout,
    /evil\\u\{1b\}\[2J: left as it is: an unknown command \(\\u\{202e\}exe\.txt\)/,
  );
  // Positive control: ordinary text is printed as it is.
  assert.match(out.stdout, /plain: left as it is: an unknown command \(my-server\)/);
});

Deno.test("mcp-run adopt --help keeps every line within 100 columns", async () => {
  const out = await cli(["adopt", "--help"]);
  assert.equal(out.code, 0, out.stderr);
  const wide = out.stdout.split("\n").filter((line) => line.length > 100);
  assert.deepEqual(wide, []);
  assert.match(out.stdout, /needs Docker/);
});

Deno.test({
  name: "mcp-run adopt --isolation gvisor says the learn run that drafts a manifest is native",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  // A package outside the catalogue with no program: its learn run fails fast, after the note.
  const servers = { isnum: { command: "npx", args: ["-y", "is-number@7.0.0"] } };
  const note =
    /npm:is-number@7\.0\.0 is not in the catalogue: learn drafts its manifest by running it natively .* not under gVisor; the entry it gets runs under gVisor/;
  const gvisor = scene(servers);
  const out = await cli(
    ["adopt", "--client", "cursor", "--isolation", "gvisor", "--cache", cache],
    {
      env: { HOME: gvisor.home },
    },
  );
  assert.match(out.stderr, note);
  assert.match(out.stdout, /isnum: left as it is: learn failed/);
  // Positive control: under docker the same adoption says nothing of gVisor.
  const docker = scene(servers);
  const plain = await cli([
    "adopt",
    "--client",
    "cursor",
    "--isolation",
    "docker",
    "--cache",
    cache,
  ], {
    env: { HOME: docker.home },
  });
  assert.match(plain.stdout, /isnum: left as it is: learn failed/);
  assert.doesNotMatch(plain.stderr + plain.stdout, /gVisor/);
});
