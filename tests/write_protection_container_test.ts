/**
 * Write protection inside write grants for `pypi:` and `oci:` servers, which have no Deno to deny
 * paths: the malicious Python fixture (as a wheel, and as an image), granted a project folder,
 * tries to overwrite a git hook, the repository's config and a shell start-up file, and to rename
 * `.git` away (at the top, and in a repository deeper down after renaming the folder holding it)
 * to write a fresh `.git/config` in its place. The canary: the read-only mounts over the whole
 * `.git` folders keep them unchanged and in place. The positive control: an ordinary file in the
 * same grant is written, with the folder owner's ownership, and an ordinary folder is renamed.
 * An agent folder made before launch (`.claude`) is protected like the rest; those absent at
 * launch cannot be mounted, and the launch names them in a note.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ResolvedServer } from "../runtime/policy/resolve.ts";
import {
  type EvilContainer,
  evilOptions,
  evilProblem,
  evilServer,
  launchEvil,
  pullEvil,
  pullEvilImage,
} from "./_evil_container.ts";

const problem = await evilProblem();
if (problem) console.error(`write_protection_container_test.ts: skipping, ${problem}`);
/** The folder's owner when the tests run as root: the container runs as it. */
const OWNER = 4242;

/** Pulls the fixture as a `pypi:` wheel or an `oci:` image, granted `proj`; its cleanup. */
async function pulled(
  kind: "pypi" | "oci",
  proj: string,
  cache: string,
): Promise<{ server: ResolvedServer; cleanup: () => void }> {
  const grants = { name: `write-guard-${kind}`, write: [proj] };
  if (kind === "pypi") {
    const server = evilServer(grants, cache);
    await pullEvil(server, cache);
    return { server, cleanup: () => {} };
  }
  const { server, reference } = await pullEvilImage(grants, evilOptions(cache));
  const cleanup = () => new Deno.Command("docker", { args: ["rmi", reference] }).outputSync();
  return { server, cleanup };
}

/**
 * Renames `.git` away to write a fresh config in its place, at the top and in `sub` after
 * renaming `sub` itself (which carries its mount along); an ordinary folder is the control.
 */
async function renameAttack(evil: EvilContainer, proj: string): Promise<void> {
  const rename = (src: string, dst: string) =>
    evil.call("rename_path", { src: join(proj, src), dst: join(proj, dst) });
  const away = await rename(".git", ".gitold");
  assert.equal(away.errno, "EBUSY", JSON.stringify(away));
  assert.equal((await rename("sub", "sub2")).ok, true);
  const nested = await rename("sub2/.git", "sub2/.gitold");
  assert.equal(nested.errno, "EBUSY", JSON.stringify(nested));
  const fresh = await evil.call("write_file", { path: join(proj, "sub2/.git/config") });
  assert.equal(fresh.errno, "EROFS", JSON.stringify(fresh));
  assert.equal((await rename("sub2", "sub")).ok, true);
  const control = await rename("plain", "plain2");
  assert.equal(control.ok, true, JSON.stringify(control));
}

for (const kind of ["pypi", "oci"] as const) {
  Deno.test({
    name: `docker keeps hooks, git config and shell files in a ${kind}: server's grant read-only`,
    ignore: problem !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const work = Deno.makeTempDirSync({
        dir: "/var/tmp",
        prefix: `mcp-run-write-guard-${kind}-`,
      });
      try {
        const proj = join(work, "proj");
        for (const dir of [".git/hooks", "sub/.git", "plain", ".claude"]) {
          Deno.mkdirSync(join(proj, dir), { recursive: true });
        }
        const canaries: Record<string, string> = {
          ".git/config": "[core]\n",
          "sub/.git/config": "[core]\n",
          ".bashrc": "# the user's own\n",
          ".claude/settings.json": "{}\n",
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
        const { server, cleanup } = await pulled(kind, proj, cache);
        try {
          const said: string[] = [];
          const options = { ...evilOptions(cache), progress: (line: string) => said.push(line) };
          await using evil = await launchEvil(server, options);
          // What does not exist at launch cannot be mounted, and the launch says so.
          const absent = said.find((line) => line.includes("do not exist yet"));
          assert.match(
            absent ?? said.join("\n"),
            /^mcp-run: \d+ write-protected paths .*could create them/,
          );
          for (const file of Object.keys(canaries)) {
            const report = await evil.call("write_file", { path: join(proj, file) });
            assert.equal(report.ok, false, `${file}: ${JSON.stringify(report)}`);
            assert.equal(report.errno, "EROFS", JSON.stringify(report));
          }
          const notes = await evil.call("write_file", { path: join(proj, "notes.txt") });
          assert.equal(notes.ok, true, JSON.stringify(notes));
          await renameAttack(evil, proj);
        } finally {
          cleanup();
        }
        for (const [file, text] of Object.entries(canaries)) {
          assert.equal(Deno.readTextFileSync(join(proj, file)), text, file);
        }
        assert.ok(Deno.statSync(join(proj, "plain2")).isDirectory);
        const written = Deno.statSync(join(proj, "notes.txt"));
        assert.equal(written.uid, Deno.uid() === 0 ? OWNER : Deno.uid());
      } finally {
        await Deno.remove(work, { recursive: true });
      }
    },
  });
}
