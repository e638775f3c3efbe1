import assert from "node:assert/strict";
import { ApprovalError, approvalFile, checkApproval } from "./approval.ts";
import { parseManifest } from "./manifest_text.ts";
import { type ResolvedServer, resolveServer } from "./resolve.ts";

function server(root: string, permissions: Record<string, string[]>): ResolvedServer {
  const manifest = parseManifest(JSON.stringify({
    name: "x",
    description: "d",
    package: "npm:x@1.0.0",
    permissions,
  }));
  return resolveServer(manifest, { cacheRoot: root, realPath: (p) => p });
}

Deno.test("checkApproval() records the first manifest, refuses a wider one, and accepts it when approved", async () => {
  const root = Deno.makeTempDirSync();
  const notes: string[] = [];
  const options = { cacheRoot: root, progress: (line: string) => notes.push(line) };
  await checkApproval(server(root, { net: ["a.example"] }), options);
  assert.equal(
    parseManifest(Deno.readTextFileSync(approvalFile(root, "x"))).permissions.net[0],
    "a.example",
  );
  // Same manifest: nothing to say.
  await checkApproval(server(root, { net: ["a.example"] }), options);
  assert.deepEqual(notes, []);
  // Wider: refused, with the added grant in words, and the record is unchanged.
  await assert.rejects(
    () =>
      checkApproval(server(root, { net: ["a.example", "b.example"], sys: ["hostname"] }), options),
    (e: Error) =>
      e instanceof ApprovalError && e.field === "permissions" &&
      e.message.includes("+ may now reach b.example") &&
      e.message.includes("+ may now read system information hostname") &&
      e.message.includes("--yes"),
  );
  assert.deepEqual(
    parseManifest(Deno.readTextFileSync(approvalFile(root, "x"))).permissions.net,
    ["a.example"],
  );
  // Approved: accepted, said so, and remembered.
  await checkApproval(server(root, { net: ["a.example", "b.example"] }), {
    ...options,
    approve: true,
  });
  assert.match(notes.join("\n"), /Accepted/);
  await checkApproval(server(root, { net: ["a.example", "b.example"] }), options);
  // Narrower: goes on, and becomes the approved one.
  await checkApproval(server(root, {}), options);
  assert.match(notes.at(-1)!, /- no longer reaches a\.example/);
  await assert.rejects(
    () => checkApproval(server(root, { net: ["a.example"] }), options),
    ApprovalError,
  );
  Deno.removeSync(root, { recursive: true });
});

Deno.test("checkApproval() passes a server built by hand, which carries no manifest", async () => {
  const root = Deno.makeTempDirSync();
  const { manifest: _, ...bare } = server(root, { net: ["a.example"] });
  await checkApproval(bare, { cacheRoot: root });
  assert.throws(() => Deno.statSync(approvalFile(root, "x")), Deno.errors.NotFound);
  Deno.removeSync(root, { recursive: true });
});

Deno.test("checkApproval() refuses a manifest that widens through a default, its arguments or a fixed value", async () => {
  const root = Deno.makeTempDirSync();
  const data = Deno.makeTempDirSync();
  const options = { cacheRoot: root, progress: () => {} };
  const base = {
    name: "y",
    description: "d",
    package: "npm:y@1.0.0",
    args: ["--dir", "${dir}"],
    parameters: { dir: { type: "path", description: "d", default: `${data}/a` } },
    permissions: { read: ["${dir}"] },
    env: { MODE: { description: "m", value: "safe" } },
  };
  const serverOf = (m: typeof base) =>
    resolveServer(parseManifest(JSON.stringify(m)), { cacheRoot: root, realPath: (p) => p });
  await checkApproval(serverOf(base), options);
  // Positive control: the same manifest, and one that changes only its description, pass; the
  // record follows the harmless change.
  await checkApproval(serverOf(base), options);
  await checkApproval(serverOf({ ...base, description: "new words" }), options);
  assert.match(Deno.readTextFileSync(approvalFile(root, "y")), /new words/);
  const widened: [string, typeof base, RegExp][] = [
    [
      "default",
      { ...base, parameters: { dir: { ...base.parameters.dir, default: `${data}/b` } } },
      /\+ now defaults dir=".*\/b"/,
    ],
    ["arguments", { ...base, args: [...base.args, "--evil"] }, /\+ now starts with the arguments/],
    [
      "value",
      { ...base, env: { MODE: { description: "m", value: "open" } } },
      /\+ now sets MODE=open/,
    ],
  ];
  for (const [what, manifest, words] of widened) {
    const s = serverOf(manifest);
    await assert.rejects(
      () => checkApproval(s, options),
      (e: Error) => e instanceof ApprovalError && words.test(e.message),
      what,
    );
  }
  // Accepted with approval.
  await checkApproval(serverOf(widened[0][1]), { ...options, approve: true });
});
