import assert from "node:assert/strict";
import { shellQuote } from "./shell_quote.ts";

/** What a POSIX shell makes of the quoted line: each word it would pass, NUL-separated. */
async function shellWords(line: string): Promise<string[]> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `printf '%s\\0' ${line}`],
    env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent-home" },
    clearEnv: true,
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "", "the shell complained");
  return new TextDecoder().decode(out.stdout).split("\0").slice(0, -1);
}

Deno.test("shellQuote() leaves plain words unquoted", () => {
  assert.equal(
    shellQuote(["deno", "run", "--allow-net=api.github.com:443", "npm:@scope/pkg@1.0.0", "a,b"]),
    "deno run --allow-net=api.github.com:443 npm:@scope/pkg@1.0.0 a,b",
  );
});

Deno.test("shellQuote() quotes what a shell would expand, split or run", () => {
  const cases: [string, string][] = [
    ["", "''"],
    ["a b", "'a b'"],
    ["$HOME", "'$HOME'"],
    ["it's", `'it'\\''s'`],
    ["*", "'*'"],
  ];
  for (const [arg, quoted] of cases) assert.equal(shellQuote([arg]), quoted, arg);
});

Deno.test("shellQuote() output reads back as the same words in a real shell", async () => {
  const hostile = [
    "",
    " ",
    "$(id)",
    "`id`",
    "${HOME}",
    "'",
    "''",
    "a'b\"c",
    "\\",
    "line\nbreak",
    "tab\there",
    "; rm -rf /",
    "&& echo pwned",
    "| cat",
    "> /tmp/x",
    "*",
    "?",
    "[a]",
    "~",
    "~root",
    "-n",
    "--",
    "#comment",
    "!",
    "é ünïcödé 🙂",
    "a=b c",
  ];
  assert.deepEqual(await shellWords(shellQuote(hostile)), hostile);
});
