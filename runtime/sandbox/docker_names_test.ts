import assert from "node:assert/strict";
import { dockerContainerName, dockerVolumeName } from "./docker_names.ts";

Deno.test("dockerVolumeName() differs per package version and image, and is a valid name", () => {
  const a = dockerVolumeName({ name: "memory", specifier: "npm:m@1.0.0" });
  const b = dockerVolumeName({ name: "memory", specifier: "npm:m@1.0.1" });
  const c = dockerVolumeName({ name: "memory", specifier: "npm:m@1.0.0" }, { image: "x:1" });
  assert.match(a, /^mcp-run-cache-memory-[0-9a-f]{8}$/);
  assert.notEqual(a, b);
  assert.notEqual(a, c);
  assert.equal(a, dockerVolumeName({ name: "memory", specifier: "npm:m@1.0.0" }));
  assert.match(
    dockerVolumeName({ name: "a b/c", specifier: "x" }),
    /^mcp-run-cache-a_b_c-[0-9a-f]{8}$/,
  );
});

Deno.test("dockerContainerName() is predictable and docker-safe", () => {
  assert.equal(dockerContainerName("filesystem", "k3y"), "mcp-run-filesystem-k3y");
  assert.equal(dockerContainerName("../x", "1"), "mcp-run-.._x-1");
  assert.throws(() => dockerContainerName("x", ""), RangeError);
  assert.throws(() => dockerContainerName("x", "--rm"), RangeError);
});

Deno.test("dockerVolumeName() keeps its name for a non-ASCII specifier", () => {
  // Recorded from the names already in use: a change here orphans every existing code volume.
  const name = dockerVolumeName({ name: "s", specifier: "npm:@ünï/çødé-😀@1.0.0" });
  assert.equal(name, "mcp-run-cache-s-7fdcb4eb");
});
