import assert from "node:assert/strict";
import {
  checkDockerLimits,
  checkDockerMounts,
  checkImageReference,
  dockerMountProblem,
} from "./docker_checks.ts";
import { GrantError } from "../policy/grant_error.ts";

Deno.test("checkImageReference() accepts pinned tags and digests, refuses latest and no tag", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  for (
    const ok of [
      "denoland/deno:2.9.6",
      "mcp-run-test/deno:2.9.6",
      "registry.example:5000/deno/deno:2.9.6-debian",
      `denoland/deno@${digest}`,
      `denoland/deno:latest@${digest}`,
    ]
  ) assert.equal(checkImageReference(ok), ok);
  const cases: [string, RegExp][] = [
    [
      "denoland/deno:latest",
      /latest is a moving tag.*pinned version such as denoland\/deno:2\.9\.6/,
    ],
    ["denoland/deno", /has no tag, which means latest/],
    ["registry.example:5000/deno", /has no tag/],
    ["denoland/deno@sha256:abc", /digest is not sha256/],
    ["", /as the image/],
    ["-v", /as the image/],
  ];
  for (const [image, message] of cases) {
    assert.throws(() => checkImageReference(image), (e: Error) => {
      return e instanceof RangeError && message.test(e.message) && e.message.includes(`"${image}"`);
    });
  }
});

Deno.test("checkDockerLimits() names the option at fault", () => {
  checkDockerLimits({});
  checkDockerLimits({ memory: "1g", cpus: "0.25", pidsLimit: 10, nofile: 64, tmpfsSize: "8m" });
  const cases: [Parameters<typeof checkDockerLimits>[0], RegExp][] = [
    [{ memory: "lots" }, /^Cannot use "lots" as --memory: give a size such as 512m$/],
    [{ cpus: "many" }, /^Cannot use "many" as --cpus: give a positive number/],
    [{ cpus: "-1" }, /as --cpus/],
    [{ pidsLimit: 0 }, /as --pids-limit/],
    [{ memory: "10" }, /^Cannot use "10" as --memory: the engine's smallest memory limit is 6m/],
    [{ memory: "6143k" }, /the engine's smallest memory limit is 6m/],
  ];
  // The smallest limits the engine takes, in each unit, pass.
  for (const memory of ["6m", "6144k", "6291456", "6291456b", "1G"]) checkDockerLimits({ memory });
  for (const [limits, message] of cases) {
    assert.throws(() => checkDockerLimits(limits), (e: Error) => {
      return e instanceof RangeError && message.test(e.message);
    });
  }
});

Deno.test("dockerMountProblem() refuses commas, quotes and line breaks only", () => {
  for (const path of ["/data/a,b", '/data/a"b', "/data/a\nb", "/data/src=x,dst=/etc"]) {
    assert.match(dockerMountProblem(path) ?? "", /cannot be written as a docker --mount value/);
  }
  for (const path of ["/data/ab", "/data/a b", "/data/a'b", "/data/a=b"]) {
    assert.equal(dockerMountProblem(path), undefined);
  }
});

Deno.test("checkDockerMounts() refuses grants and a local folder a --mount value cannot carry", () => {
  const grant = (field: string, message: RegExp) => (e: unknown) =>
    e instanceof GrantError && e.field === field && message.test(e.message);
  const cases: [Parameters<typeof checkDockerMounts>[0], string, RegExp][] = [
    [
      { read: ["/data/a,b"], write: [] },
      "permissions.read",
      /^Cannot grant read access to "\/data\/a,b" in docker: paths containing ","/,
    ],
    [
      { read: [], write: ['/data/a"b'] },
      "permissions.write",
      /^Cannot grant write access to "\/data\/a\"b" in docker: paths containing/,
    ],
    [
      { read: [], write: [], localDir: "/srv/a\nb" },
      "package",
      /^Cannot mount "\/srv\/a\nb" into the container: paths containing/,
    ],
  ];
  for (const [server, field, message] of cases) {
    assert.throws(() => checkDockerMounts(server), grant(field, message));
  }
  // Positive control: plain paths, and reads inside the code volume (never mounted), pass.
  checkDockerMounts({
    read: ["/data/a:b=c", "/deno-dir/npm/registry.npmjs.org/x,y/1.0.0"],
    write: ["/data/ab"],
    localDir: "/srv/probe",
  });
});
