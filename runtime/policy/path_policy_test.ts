import assert from "node:assert/strict";
import { forbiddenPathReason, isWithin } from "./path_policy.ts";

const ctx = { home: "/home/ada", cacheRoot: "/home/ada/.cache/mcp-run" };

const refused: [string, RegExp][] = [
  ["/", /whole file system/],
  ["/home/ada", /home directory itself/],
  ["/home", /contains the home directory/],
  ["/proc", /\/proc exposes/],
  ["/proc/self/environ", /\/proc exposes/],
  ["/sys/kernel", /\/sys exposes/],
  ["/dev", /\/dev exposes/],
  ["/run/docker.sock", /\/run exposes/],
  ["/etc/shadow", /exposes/],
  ["/home/ada/.cache/mcp-run/servers/x", /code cache/],
  ["/home/ada/.cache", /code cache/],
  ["/home/ada/.ssh", /credentials/],
  ["/home/ada/.ssh/id_ed25519", /credentials/],
  ["/home/ada/.aws/credentials", /credentials/],
  ["/home/ada/.docker/config.json", /credentials/],
  ["/home/ada/.kube", /credentials/],
  ["/home/ada/.bashrc", /credentials/],
  ["/home/ada/.zshrc", /credentials/],
  ["/home/ada/.npmrc", /credentials/],
  ["/home/ada/.config/Claude/claude_desktop_config.json", /client configs/],
  ["/home/ada/.cursor/mcp.json", /client configs/],
  ["/home/ada/.config", /contains \/home\/ada\/\.config/],
];
for (const [path, pattern] of refused) {
  Deno.test(`forbiddenPathReason() refuses ${path}`, () => {
    const reason = forbiddenPathReason(path, ctx);
    assert.ok(reason && pattern.test(reason), `${path}: ${reason}`);
  });
}

Deno.test("forbiddenPathReason() allows ordinary folders", () => {
  for (
    const path of [
      "/home/ada/notes",
      "/home/ada/projects/app",
      "/tmp/work",
      "/srv/data",
      "/home/ada/.sshfoo",
    ]
  ) {
    assert.equal(forbiddenPathReason(path, ctx), undefined, path);
  }
});

Deno.test("isWithin() does not match sibling prefixes", () => {
  assert.equal(isWithin("/data2/x", "/data"), false);
  assert.equal(isWithin("/data/x", "/data"), true);
  assert.equal(isWithin("/data", "/data"), true);
  assert.equal(isWithin("/anything", "/"), true);
});
