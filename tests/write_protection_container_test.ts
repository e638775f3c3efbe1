/**
 * Write protection inside write grants for a `pypi:` server, which has no Deno to deny paths:
 * the malicious Python fixture, granted a project folder, tries to plant a git hook and
 * overwrite the repository's config and a shell start-up file. The canary: the read-only mounts
 * over those existing paths keep them unchanged. The positive control: an ordinary file in the
 * same grant is written, with the folder owner's ownership.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { evilOptions, evilProblem, evilServer, launchEvil, pullEvil } from "./_evil_container.ts";

const problem = await evilProblem();
if (problem) console.error(`write_protection_container_test.ts: skipping, ${problem}`);
/** The folder's owner when the tests run as root: the container runs as it. */
const OWNER = 4242;

Deno.test({
  name: "a pypi: server in docker cannot write hooks, git config or shell files inside its grant",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "mcp-run-write-guard-py-" });
    try {
      const proj = join(work, "proj");
      Deno.mkdirSync(join(proj, ".git", "hooks"), { recursive: true });
      const canaries: Record<string, string> = {
        ".git/config": "[core]\n",
        ".bashrc": "# the user's own\n",
        ".git/hooks/pre-commit": "#!/bin/sh\nexit 0\n",
      };
      for (const [file, text] of Object.entries(canaries)) {
        Deno.writeTextFileSync(join(proj, file), text);
      }
      if (Deno.uid() === 0) {
        const out = await new Deno.Command("chown", { args: ["-R", `${OWNER}:${OWNER}`, proj] })
          .output();
        assert.equal(out.code, 0);
      }
      const cache = join(work, "cache");
      const server = evilServer({ name: "write-guard-py", write: [proj] }, cache);
      await pullEvil(server, cache);
      const options = evilOptions(cache);
      {
        await using evil = await launchEvil(server, options);
        for (const file of Object.keys(canaries)) {
          const report = await evil.call("write_file", { path: join(proj, file) });
          assert.equal(report.ok, false, `${file}: ${JSON.stringify(report)}`);
          assert.equal(report.errno, "EROFS", JSON.stringify(report));
        }
        const notes = await evil.call("write_file", { path: join(proj, "notes.txt") });
        assert.equal(notes.ok, true, JSON.stringify(notes));
      }
      for (const [file, text] of Object.entries(canaries)) {
        assert.equal(Deno.readTextFileSync(join(proj, file)), text, file);
      }
      const written = Deno.statSync(join(proj, "notes.txt"));
      assert.equal(written.uid, Deno.uid() === 0 ? OWNER : Deno.uid());
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
