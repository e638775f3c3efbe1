import assert from "node:assert/strict";
import { containerDenialPlaces, denialContext, denialPlaces } from "./denial_places.ts";

Deno.test("denialPlaces() lists the package folder first, then the code cache and neutral folders", () => {
  const places = denialPlaces({ specifier: "npm:@x/srv@1.0.0" }, {
    home: "/c/neutral/home",
    cwd: "/c/neutral/cwd",
    denoDir: "/c/servers/x/deno_dir",
  });
  assert.deepEqual(places.map((p) => [p.path, p.allow !== undefined, p.never !== undefined]), [
    ["/c/servers/x/deno_dir/npm/registry.npmjs.org/@x/srv/1.0.0", true, false],
    ["/c/servers/x/deno_dir", false, true],
    ["/c/neutral/home", false, true],
    ["/c/neutral/cwd", false, true],
  ]);
  // A package that is not an exact npm one has no package folder to grant.
  const local = denialPlaces({ specifier: "/srv/server.ts" }, {
    home: "/h",
    cwd: "/w",
    denoDir: "/d",
  });
  assert.equal(local.length, 3);
});

Deno.test("denialContext() words a docker launch with the container's folders", () => {
  const docker = denialContext({ name: "t", specifier: "jsr:@x/y@1.0.0" }, {
    cacheRoot: "/c",
    isolation: "docker",
    home: "/home/ada",
  });
  assert.deepEqual(docker.places, containerDenialPlaces({ specifier: "jsr:@x/y@1.0.0" }));
  assert.equal(docker.places?.find((p) => p.path === "/tmp")?.words, "its neutral home folder");
  assert.equal(docker.home, "/home/ada");
  const native = denialContext({ name: "t", specifier: "jsr:@x/y@1.0.0" }, { cacheRoot: "/c" });
  assert.equal(
    native.places?.find((p) => p.words === "its neutral home folder")?.path,
    "/c/neutral/home",
  );
});
