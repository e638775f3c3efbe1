import assert from "node:assert/strict";
import { serverFixture } from "./_server_fixture.ts";
import { describePermissions } from "./describe.ts";

Deno.test("describePermissions() says what a server without grants may not do", () => {
  assert.deepEqual(describePermissions(serverFixture()), [
    "Read no files",
    "Write no files",
    "No network access",
    "Read no environment variables",
    "Private and loopback addresses blocked",
  ]);
});

Deno.test("describePermissions() names grants, secrets, trusted programs and private exceptions", () => {
  const lines = describePermissions(serverFixture({
    read: ["/data"],
    net: ["127.0.0.1:5432", "api.example.com:443"],
    env: ["LOG_LEVEL", "TOKEN"],
    secrets: ["TOKEN"],
    run: ["git"],
  }));
  assert.equal(lines[0], "START PROGRAMS (trusted, in a container): git");
  assert.ok(lines.includes("Read files in: /data"));
  assert.ok(lines.includes("Reach network hosts: 127.0.0.1:5432, api.example.com:443"));
  assert.ok(lines.includes("Read environment variables: LOG_LEVEL"));
  assert.ok(lines.includes("Receive secrets: TOKEN"));
  assert.equal(lines.at(-1), "Private and loopback addresses blocked, except 127.0.0.1:5432");
});
