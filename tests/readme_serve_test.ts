/**
 * Every `./mcp-run` command of the README's "Remote access" section runs: serve examples are
 * checked with `--dry-run` (flags, authentication choice, bind and allowlist rules), the others
 * run as written, in a HOME of their own with the files the examples name.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { JsonFileTokenStore } from "../runtime/auth/token_file_store.ts";
import { readTotpFile } from "../runtime/auth/totp.ts";

/** The README's remote access section. */
function section(): string {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const start = readme.indexOf("## Remote access: `mcp-run serve`");
  assert.ok(start >= 0, "the README has no remote access section");
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The shell lines of the section's sh blocks that are not mcp-run (files they make). */
function shellLines(text: string): string[] {
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) => block[1].split("\n"))
    .map((line) => line.trim()).filter((line) => line.startsWith("(umask"));
}

/** The `./mcp-run` commands of the section's sh blocks, continuation lines joined. */
function commands(text: string): string[][] {
  const out: string[][] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = block[1].replace(/\\\n\s*/g, " ");
    for (const raw of joined.split("\n")) {
      const line = raw.trim().replace(/\s+#.*$/, "").replace(/\s*&$/, "");
      if (line.startsWith("./mcp-run ")) out.push(line.split(/\s+/).slice(1));
    }
  }
  return out;
}

Deno.test("the README's remote access commands run as written", async () => {
  const home = tempDir();
  const cache = join(home, "cache");
  Deno.mkdirSync(join(home, "notes"));
  const tokenFile = join(home, ".config/mcp-run/token");
  Deno.mkdirSync(join(home, ".config/mcp-run"), { recursive: true });
  Deno.writeTextFileSync(tokenFile, `${"0123456789abcdef".repeat(4)}\n`, { mode: 0o600 });
  Deno.chmodSync(tokenFile, 0o600);
  const text = section();
  // The sign-in the README revokes by ID exists, beside another one that --all revokes.
  const id = /\.\/mcp-run tokens revoke memory (?!--all)(\S+)/.exec(text)?.[1];
  assert.ok(id, "the README shows no revoke by ID");
  const store = new JsonFileTokenStore(join(home, ".local/state/mcp-run/serve/memory/tokens.json"));
  for (const family of [`${id}Rest0123`, "AnotherSignIn0123"]) {
    await store.put({
      hash: family.padEnd(64, "0"),
      kind: "refresh",
      clientId: "readme-client",
      resource: "https://mcp.example.com/mcp",
      scope: "mcp",
      family,
      expiresAt: Date.now() + 3_600_000,
    });
  }
  const lines = commands(text);
  assert.ok(lines.length >= 9, `only ${lines.length} commands found`);
  for (const words of lines) {
    const args = words.map((word) => word.replace(/^~(?=\/)/, home).replace("$HOME", home));
    const serving = args[0] === "serve" && !args.includes("--set-passphrase");
    const r = await cli(serving ? [...args, "--dry-run", "--cache", cache] : args, {
      env: { HOME: home },
      // Relative paths the examples write (deploy's --out) land in the test's folder.
      cwd: home,
      stdin: args.includes("--set-passphrase") ? "correct horse battery staple\n" : undefined,
    });
    assert.equal(r.code, 0, `./mcp-run ${words.join(" ")}:\n${r.stderr}`);
    if (serving) assert.match(r.stdout, /listen: http:\/\//);
  }
  assert.deepEqual(await store.list(), [], "the README's revokes removed every sign-in");
  // The TOTP secret the README makes is one the authorization server reads.
  const [totpLine] = shellLines(text).filter((line) => line.includes("/totp"));
  assert.ok(totpLine, "the README shows no TOTP secret");
  const made = await new Deno.Command("bash", {
    args: ["-c", totpLine],
    env: { HOME: home, PATH: "/usr/bin:/bin" },
    clearEnv: true,
  }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
  const totp = join(home, ".local/state/mcp-run/totp");
  assert.equal((await readTotpFile(totp)).length, 20);
  assert.equal(Deno.statSync(totp).mode! & 0o777, 0o600);
});
