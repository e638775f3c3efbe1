/**
 * Write protection inside write grants, end to end, natively and in docker: `mcp-run call` (the
 * real MCP SDK client) runs a malicious fixture with a write grant on a project folder that
 * tries to plant git hooks, git config, editor, agent, shell and direnv files, at the top of the
 * grant and in a repository deeper down, by writing or by renaming an ordinary file over them.
 * The canary: those files do not appear, or keep their content. The positive control: an
 * ordinary file in the same grant is written, and an explicit grant of `.vscode` lets the
 * server write there. In docker, the folder belongs to a user (the container runs as its owner)
 * and the read-only mount over a whole `.git` cannot be renamed away, even in a repository
 * deeper down whose holding folder the server renamed first.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import { cli, resultText, ROOT } from "./_helpers.ts";

const problem = await dockerProblem("write_protection_test.ts: skipping docker");
const MANIFEST = join(ROOT, "tests", "testdata", "write_guard", "manifest.jsonc");
/** The owner of the project folder when the tests run as root: the container runs as it. */
const OWNER = 4242;

type Isolation = "deno" | "docker";

/** A project folder with a repository at its top and one deeper down, and its canaries. */
function scene(): { work: string; proj: string; canaries: Record<string, string> } {
  const work = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "mcp-run-write-guard-" });
  Deno.chmodSync(work, 0o755);
  const proj = join(work, "proj");
  for (const dir of [".git/hooks", "sub/.git/hooks"]) {
    Deno.mkdirSync(join(proj, dir), { recursive: true });
  }
  const canaries: Record<string, string> = {
    ".git/config": "[core]\n\tbare = false\n",
    ".bashrc": "# the user's own\n",
    "sub/.git/config": "[core]\n",
  };
  for (const [file, text] of Object.entries(canaries)) {
    Deno.writeTextFileSync(join(proj, file), text);
  }
  return { work, proj, canaries };
}

/** Gives the folder to {@linkcode OWNER} when root, so a container can run as its owner. */
async function own(path: string): Promise<void> {
  if (Deno.uid() !== 0) return;
  const out = await new Deno.Command("chown", { args: ["-R", `${OWNER}:${OWNER}`, path] }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** Runs the fixture's attack once, in a fresh cache; returns its report by step. */
async function attack(
  work: string,
  dirs: string[],
  steps: string[][],
  isolation: Isolation,
): Promise<Record<string, string>> {
  const iso = isolation === "docker" ? CLI_DOCKER : ["--isolation", "deno"];
  const params = dirs.flatMap((dir) => ["-p", `dirs=${dir}`]);
  const run = await cli(
    ["call", MANIFEST, "attack", JSON.stringify({ steps }), ...params, ...iso, "--yes"],
    {
      env: { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: join(work, "cache") },
    },
  );
  assert.equal(run.code, 0, run.stderr);
  lastStderr = run.stderr;
  return JSON.parse(run.stdout);
}

/** The stderr of the last attack: the refusal reports. */
let lastStderr = "";

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

for (const isolation of ["deno", "docker"] as const) {
  Deno.test({
    name:
      `mcp-run call keeps a write grant's hooks, editor, agent and shell files read-only (${isolation})`,
    ignore: isolation === "docker" && problem !== undefined,
    fn: async () => {
      const { work, proj, canaries } = scene();
      try {
        await own(proj);
        const planted = [
          ".git/hooks/pre-commit",
          ".git/config",
          ".vscode/settings.json",
          ".mcp.json",
          ".envrc",
          ".bashrc",
          ".claude/settings.json",
          ".github/workflows/ci.yml",
          "sub/.git/hooks/post-checkout",
          "sub/.git/config",
        ].map((p) => join(proj, p));
        const steps = [
          ...planted.map((p) => ["write", p]),
          ["rename", join(proj, "innocent.txt"), join(proj, ".envrc")],
          // Positive control: an ordinary file in the same grant.
          ["write", join(proj, "notes.txt")],
        ];
        const report = await attack(work, [proj], steps, isolation);
        assert.equal(report[`write ${join(proj, "notes.txt")}`], "written", "control");
        assert.equal(Deno.readTextFileSync(join(proj, "notes.txt")), "evil\n");
        for (const path of planted) {
          assert.match(report[`write ${path}`], /^refused/, `${path}: ${report[`write ${path}`]}`);
        }
        assert.match(report[steps.at(-2)!.join(" ")], /^refused/);
        // Each refusal is reported, with the grant that would lift the protection.
        for (const [asked, held] of [[".git/hooks", ".git"], [".mcp.json", ".mcp.json"]]) {
          const line = `write ${join(proj, asked)} (protected: writing there makes code run ` +
            `outside the sandbox) (2 times): to allow it, "write": [${
              JSON.stringify(join(proj, held))
            }]`;
          assert.ok(lastStderr.includes(line), `${line}\n${lastStderr}`);
        }
        // The canaries: nothing planted, the user's files unchanged.
        for (const p of [".git/hooks/pre-commit", ".vscode", ".mcp.json", ".envrc", ".claude"]) {
          assert.ok(!exists(join(proj, p)), `${p} appeared`);
        }
        assert.ok(!exists(join(proj, "sub/.git/hooks/post-checkout")));
        assert.ok(!exists(join(proj, ".github/workflows/ci.yml")));
        for (const [file, text] of Object.entries(canaries)) {
          assert.equal(Deno.readTextFileSync(join(proj, file)), text, file);
        }
      } finally {
        await Deno.remove(work, { recursive: true });
      }
    },
  });

  Deno.test({
    name:
      `mcp-run call lets a server write a protected folder the user granted explicitly (${isolation})`,
    ignore: isolation === "docker" && problem !== undefined,
    fn: async () => {
      const { work, proj } = scene();
      try {
        const vscode = join(proj, ".vscode");
        Deno.mkdirSync(vscode);
        await own(proj);
        const settings = join(vscode, "settings.json");
        const hook = join(proj, ".git/hooks/pre-commit");
        const report = await attack(work, [proj, vscode], [["write", settings], [
          "write",
          hook,
        ]], isolation);
        assert.equal(report[`write ${settings}`], "written");
        assert.equal(Deno.readTextFileSync(settings), "evil\n");
        // Only what was granted: the hooks stay protected.
        assert.match(report[`write ${hook}`], /^refused/);
        assert.ok(!exists(hook));
      } finally {
        await Deno.remove(work, { recursive: true });
      }
    },
  });
}

for (const isolation of ["deno", "docker"] as const) {
  Deno.test({
    name: `mcp-run call refuses to rename .git away and write a fresh config (${isolation})`,
    ignore: isolation === "docker" && problem !== undefined,
    fn: async () => {
      const { work, proj, canaries } = scene();
      try {
        const moved = join(proj, ".git-moved");
        Deno.mkdirSync(join(proj, "plain"));
        await own(proj);
        // Natively Deno refuses the rename (.git itself is denied); in docker so does the
        // kernel (EBUSY: .git is a mount point), where a mount over .git/config would move.
        const report = await attack(work, [proj], [
          ["rename", join(proj, ".git"), moved],
          ["write", join(proj, ".git", "config")],
          ["write", join(proj, ".git", "hooks", "pre-commit")],
          // Positive control: an ordinary folder is renamed.
          ["rename", join(proj, "plain"), join(proj, "plain2")],
        ], isolation);
        assert.match(report[`rename ${join(proj, ".git")} ${moved}`], /^refused/);
        assert.equal(Deno.readTextFileSync(join(proj, ".git/config")), canaries[".git/config"]);
        assert.ok(!exists(join(proj, ".git/hooks/pre-commit")), JSON.stringify(report));
        assert.ok(Deno.statSync(join(proj, ".git")).isDirectory);
        assert.equal(report[`rename ${join(proj, "plain")} ${join(proj, "plain2")}`], "written");
      } finally {
        await Deno.remove(work, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "mcp-run call in docker keeps a deeper .git in place when its folder was renamed",
  ignore: problem !== undefined,
  fn: async () => {
    const { work, proj, canaries } = scene();
    try {
      await own(proj);
      const [sub, sub2] = [join(proj, "sub"), join(proj, "sub2")];
      const report = await attack(work, [proj], [
        ["rename", sub, sub2],
        ["rename", join(sub2, ".git"), join(sub2, ".gitold")],
        ["write", join(sub2, ".git", "config")],
        ["rename", sub2, sub],
      ], "docker");
      // The folder moved, carrying the mount over its .git along; that mount stays put.
      assert.equal(report[`rename ${sub} ${sub2}`], "written");
      assert.match(report[`rename ${join(sub2, ".git")} ${join(sub2, ".gitold")}`], /^refused/);
      assert.equal(Deno.readTextFileSync(join(sub, ".git/config")), canaries["sub/.git/config"]);
      assert.ok(!exists(join(sub, ".gitold")), JSON.stringify(report));
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test({
  name: "mcp-run call natively refuses a .git built elsewhere and renamed into a folder",
  fn: async () => {
    const work = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "mcp-run-write-guard-" });
    try {
      const plain = join(work, "plain");
      Deno.mkdirSync(plain);
      const staged = join(plain, "staged");
      const report = await attack(work, [plain], [
        ["write", join(staged, "config")],
        ["rename", staged, join(plain, ".git")],
        // Positive control: the same folder renamed to an ordinary name.
        ["rename", staged, join(plain, "ordinary")],
      ], "deno");
      assert.match(report[`rename ${staged} ${join(plain, ".git")}`], /^refused/);
      assert.ok(!exists(join(plain, ".git")));
      assert.equal(report[`rename ${staged} ${join(plain, "ordinary")}`], "written");
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test({
  name: "mcp-run config --form docker writes an entry whose container can write its grant",
  ignore: problem !== undefined,
  fn: async () => {
    const { work, proj, canaries } = scene();
    try {
      await own(proj);
      const env = { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: join(work, "cache") };
      const given = ["-p", `dirs=${proj}`, ...CLI_DOCKER, "--yes"];
      const pulled = await cli(["pull", MANIFEST, ...given], { env });
      assert.equal(pulled.code, 0, pulled.stderr);
      const config = await cli(["config", MANIFEST, "--form", "docker", ...given], { env });
      assert.equal(config.code, 0, config.stderr);
      const entry = JSON.parse(config.stdout) as { command: string; args: string[] };
      // As a launch: the invoking user, or for root the owner of the grant (never 1993 blindly).
      const user = Deno.uid() === 0 ? `${OWNER}:${OWNER}` : `${Deno.uid()}:${Deno.gid()}`;
      assert.equal(entry.args[entry.args.indexOf("--user") + 1], user);
      const client = new Client({ name: "write-guard-test", version: "1.0.0" });
      await client.connect(
        new StdioClientTransport({ command: entry.command, args: entry.args, stderr: "pipe" }),
      );
      const notes = join(proj, "notes.txt");
      const hook = join(proj, ".git/hooks/pre-commit");
      const nested = join(proj, "sub/.git/config");
      let report: Record<string, string>;
      try {
        const result = await client.callTool({
          name: "attack",
          arguments: { steps: [["write", notes], ["write", hook], ["write", nested]] },
        });
        report = JSON.parse(resultText(result));
      } finally {
        await client.close();
      }
      assert.equal(report[`write ${notes}`], "written", JSON.stringify(report));
      assert.equal(Deno.statSync(notes).uid, Number(user.split(":")[0]));
      assert.match(report[`write ${hook}`], /^refused/);
      assert.ok(!exists(hook));
      // A repository deeper down is protected as in a launch.
      assert.match(report[`write ${nested}`], /^refused/);
      assert.equal(Deno.readTextFileSync(nested), canaries["sub/.git/config"]);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test("mcp-run config --form deno writes an entry that keeps a deeper repository's config", async () => {
  const { work, proj, canaries } = scene();
  try {
    const env = { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: join(work, "cache") };
    const given = ["-p", `dirs=${proj}`, "--isolation", "deno", "--yes"];
    const pulled = await cli(["pull", MANIFEST, ...given], { env });
    assert.equal(pulled.code, 0, pulled.stderr);
    const config = await cli(["config", MANIFEST, "--form", "deno", ...given], { env });
    assert.equal(config.code, 0, config.stderr);
    const entry = JSON.parse(config.stdout);
    const client = new Client({ name: "write-guard-test", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ ...entry, stderr: "pipe" }));
    const [notes, nested] = [join(proj, "notes.txt"), join(proj, "sub/.git/config")];
    let report: Record<string, string>;
    try {
      const steps = [["write", notes], ["write", nested]];
      report = JSON.parse(
        resultText(await client.callTool({ name: "attack", arguments: { steps } })),
      );
    } finally {
      await client.close();
    }
    assert.equal(report[`write ${notes}`], "written", JSON.stringify(report));
    assert.match(report[`write ${nested}`], /^refused/);
    assert.equal(Deno.readTextFileSync(nested), canaries["sub/.git/config"]);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
