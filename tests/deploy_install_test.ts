/**
 * The install step `mcp-run deploy --target systemd` prints, run for real: tools/install.sh into a
 * temporary prefix, then the installed program used as a service would (as another user when
 * the test runs as root, from a folder it cannot write). And ./mcp-run through a symlink.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempDir } from "./_helpers.ts";

const decoder = new TextDecoder();

async function run(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(program, { args, env, stdin: "null" }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test({
  name: "tools/install.sh installs an mcp-run that runs from a read-only prefix",
  sanitizeResources: false,
  fn: async () => {
    const prefix = join(tempDir("mcp-run-install-"), "usr local");
    const installed = await run("bash", [join(ROOT, "tools/install.sh"), prefix]);
    assert.equal(installed.code, 0, installed.stderr);
    const program = join(prefix, "bin/mcp-run");
    assert.match(installed.stdout, new RegExp(`installed ${program.replaceAll(".", "\\.")}`));
    // Nothing of the checkout's own state came along.
    for (const name of [".git", ".cache", ".tools"]) {
      await assert.rejects(
        () => Deno.lstat(join(prefix, "lib/mcp-run", name)),
        Deno.errors.NotFound,
      );
    }
    const lib = await Deno.stat(join(prefix, "lib/mcp-run"));
    assert.equal(lib.mode! & 0o022, 0, "the install is not writable by others");

    const home = tempDir("mcp-run-install-home-");
    const asUser: string[] = [];
    if (Deno.uid() === 0) {
      // As a service's user: nobody, who can write nothing of the install.
      await Deno.chown(home, 65534, 65534);
      await Deno.chmod(join(prefix, ".."), 0o755);
      asUser.push("--reuid=65534", "--regid=65534", "--clear-groups", "--");
    }
    const planned = Deno.uid() === 0
      ? await run("setpriv", [...asUser, program, "run", "time", "--dry-run"], { HOME: home })
      : await run(program, ["run", "time", "--dry-run"], { HOME: home });
    assert.equal(planned.code, 0, planned.stderr);
    assert.ok(planned.stdout.includes(`'${join(prefix, "lib/mcp-run/bin/deno")}' run `));
    const help = await run(program, ["--help"], { HOME: home });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage:/m);

    // Installing again replaces the install whole.
    const again = await run("bash", [join(ROOT, "tools/install.sh"), prefix]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      [...Deno.readDirSync(join(prefix, "lib"))].map((e) => e.name),
      ["mcp-run"],
    );
    await Deno.remove(join(prefix, ".."), { recursive: true });
    await Deno.remove(home, { recursive: true });
  },
});

Deno.test("./mcp-run runs through a symlink to it", async () => {
  const dir = tempDir("mcp-run-link-");
  await Deno.symlink(join(ROOT, "mcp-run"), join(dir, "mcp-run"));
  const r = await run(join(dir, "mcp-run"), ["--help"], {
    HOME: Deno.env.get("HOME") ?? dir,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    ...(Deno.env.get("MCP_RUN_TOOLS") ? { MCP_RUN_TOOLS: Deno.env.get("MCP_RUN_TOOLS")! } : {}),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage:/m);
  await Deno.remove(dir, { recursive: true });
});
