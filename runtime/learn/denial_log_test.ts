import assert from "node:assert/strict";
import type { ResolvedServer } from "../policy/resolve.ts";
import { serverFixture } from "../policy/_server_fixture.ts";
import { DenialLog } from "./denial_log.ts";

function server(): ResolvedServer {
  return serverFixture({
    name: "t",
    specifier: "npm:@x/srv@1.0.0",
    read: ["/data"],
    net: ["api.example.com:443"],
    env: ["GRANTED"],
  });
}

Deno.test("DenialLog keeps distinct refused checks once, counted, and skips granted ones", () => {
  const seen: string[] = [];
  const log = new DenialLog(server(), { onDenial: (d) => seen.push(d.asked) });
  log.check({ permission: "env", value: "GRANTED" });
  log.check({ permission: "read", value: "/data/x" });
  log.check({ permission: "net", value: "https://evil.example/a" });
  log.check({ permission: "net", value: "evil.example:443" });
  log.check({ permission: "net", value: "https://evil.example/b" });
  log.check({ permission: "net", value: "evil.example:443" });
  log.check({ permission: "sys", value: "homedir" });
  log.check({ permission: "sys", value: "homedir" });
  assert.deepEqual(seen, ["net evil.example:443", "sys homedir"]);
  assert.deepEqual(log.denials.map((d) => [d.asked, d.count]), [
    ["net evil.example:443", 2],
    ["sys homedir", 2],
  ]);
});

Deno.test("DenialLog is bounded: new distinct denials past the limit are only counted", () => {
  const log = new DenialLog(server(), { maxDenials: 3 });
  for (let i = 0; i < 10; i++) log.check({ permission: "env", value: `V${i}` });
  assert.equal(log.denials.length, 3);
  assert.equal(log.dropped, 7);
});

Deno.test("DenialLog resolves a relative path against the server's starting folder", () => {
  const log = new DenialLog(server(), { context: { cwd: "/data" } });
  assert.equal(log.check({ permission: "read", value: "notes.txt" }), undefined);
  const refused = log.check({ permission: "read", value: "../etc/passwd" });
  assert.equal(refused?.allow, undefined);
  assert.match(refused?.unsure ?? "", /a relative path/);
});

Deno.test("DenialLog reports a write a protected path inside a grant refused, and the grant that lifts it", () => {
  const log = new DenialLog({ ...server(), write: ["/proj"] }, {
    context: { protectedWrites: ["/proj/.git", "/proj/.mcp.json"] },
  });
  assert.equal(log.check({ permission: "write", value: "/proj/notes.txt" }), undefined, "granted");
  const denial = log.check({ permission: "write", value: "/proj/.git/hooks/pre-commit" });
  assert.ok(denial);
  assert.match(denial.asked, /\(protected: writing there makes code run outside the sandbox\)$/);
  assert.equal(denial.allow, '"write": ["/proj/.git"]');
  assert.equal(
    log.check({ permission: "read", value: "/proj/.git/config" })?.asked,
    "read /proj/.git/config",
  );
});
