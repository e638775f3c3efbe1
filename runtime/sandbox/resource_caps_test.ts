import assert from "node:assert/strict";
import {
  capHitMessage,
  DEFAULT_LIMITS,
  effectiveLimits,
  findPrlimit,
  heapFlag,
  limitsProblem,
  prlimitCommand,
  V8_RESERVED_MB,
} from "./resource_caps.ts";

Deno.test("limitsProblem() accepts whole MiB in bounds and names what is wrong otherwise", () => {
  assert.equal(limitsProblem({}), undefined);
  assert.equal(limitsProblem({ heapMb: 64, memoryMb: 131072 }), undefined);
  const cases: [unknown, RegExp][] = [
    [null, /^limits must be an object/],
    [[1], /^limits must be an object/],
    [{ heap: 1 }, /^limits\.heap is not a limit; known limits are heapMb, memoryMb$/],
    [{ heapMb: 1.5 }, /^limits\.heapMb must be a whole number of MiB from 64 to 65536, got 1.5$/],
    [{ heapMb: 32 }, /from 64 to 65536, got 32$/],
    [{ memoryMb: "2g" }, /^limits\.memoryMb must be .* got "2g"$/],
    [{ memoryMb: 1e9 }, /from 128 to 131072/],
  ];
  for (const [value, message] of cases) assert.match(limitsProblem(value) ?? "", message);
});

Deno.test("effectiveLimits() takes the user's default, raised (never lowered) by the manifest", () => {
  assert.deepEqual(effectiveLimits(), DEFAULT_LIMITS);
  assert.deepEqual(effectiveLimits({ user: { heapMb: 256 } }), { heapMb: 256, memoryMb: 1024 });
  assert.deepEqual(
    effectiveLimits({ user: { heapMb: 256 }, manifest: { heapMb: 2048, memoryMb: 4096 } }),
    { heapMb: 2048, memoryMb: 4096 },
  );
  // A manifest asking for less than the user's default gets the default.
  assert.deepEqual(effectiveLimits({ user: { memoryMb: 2048 }, manifest: { memoryMb: 256 } }), {
    heapMb: 512,
    memoryMb: 2048,
  });
});

Deno.test("heapFlag() and prlimitCommand() write the caps as flags", () => {
  assert.equal(heapFlag({ heapMb: 300, memoryMb: 600 }), "--v8-flags=--max-old-space-size=300");
  const { program, args } = prlimitCommand("/usr/bin/prlimit", { heapMb: 1, memoryMb: 100 }, [
    "deno",
    "run",
  ]);
  assert.equal(program, "/usr/bin/prlimit");
  assert.deepEqual(args, [`--data=${(100 + V8_RESERVED_MB) * 1048576}`, "--", "deno", "run"]);
});

Deno.test("findPrlimit() finds util-linux's prlimit on Linux only", () => {
  assert.equal(findPrlimit("darwin"), undefined);
  if (Deno.build.os === "linux") assert.match(findPrlimit() ?? "", /\/prlimit$/);
});

Deno.test("capHitMessage() names the cap, its value and how to raise it", () => {
  const limits = { heapMb: 512, memoryMb: 1024 };
  const failed = { success: false, code: 133, signal: "SIGTRAP" as Deno.Signal };
  const native = { name: "x", limits, isolation: "deno" as const, stopped: false };
  const heap = capHitMessage(
    failed,
    "<--- Last few GCs --->\n# Fatal JavaScript out of memory: Reached heap limit\n  at …",
    native,
  );
  assert.match(heap ?? "", /^mcp-run: "x" was stopped by its heap cap \(512 MiB, limits\.heapMb\)/);
  assert.match(heap ?? "", /"heapMb".*\{ "heapMb": 1024 \}/);
  const buffers = capHitMessage(
    { success: false, code: 1, signal: null },
    "error: Uncaught RangeError: Array buffer allocation failed",
    native,
  );
  assert.match(buffers ?? "", /process memory cap \(1024 MiB, limits\.memoryMb, prlimit --data\)/);
  const unmapped = capHitMessage(
    failed,
    "<--- Last few GCs --->\n# Fatal JavaScript out of memory: CALL_AND_RETRY_LAST",
    native,
  );
  assert.match(unmapped ?? "", /process memory cap/);
  const docker = { ...native, isolation: "docker" as const };
  const oom = capHitMessage({ success: false, code: 137, signal: null }, "", docker);
  assert.match(
    oom ?? "",
    /process memory cap \(1024 MiB, limits\.memoryMb, docker --memory\).*--memory/,
  );
  // Not a cap: a clean exit, an ordinary error, a container the launcher stopped itself.
  assert.equal(
    capHitMessage({ success: true, code: 0, signal: null }, "Reached heap limit", native),
    undefined,
  );
  assert.equal(
    capHitMessage({ success: false, code: 1, signal: null }, "TypeError: x", native),
    undefined,
  );
  assert.equal(
    capHitMessage({ success: false, code: 137, signal: null }, "", { ...docker, stopped: true }),
    undefined,
  );
});

Deno.test("capHitMessage() gives no advice for a cap's words without a cap's exit", () => {
  const limits = { heapMb: 512, memoryMb: 1024 };
  const native = { name: "x", limits, isolation: "deno" as const, stopped: false };
  const printed = "# Fatal JavaScript out of memory: Reached heap limit";
  // A server that prints V8's words and exits 1 (or 2) was not stopped by a cap.
  for (const code of [1, 2]) {
    assert.equal(capHitMessage({ success: false, code, signal: null }, printed, native), undefined);
  }
  assert.equal(
    capHitMessage(
      { success: false, code: 3, signal: null },
      "RangeError: Array buffer allocation failed",
      native,
    ),
    undefined,
  );
  // The same words with V8's abort, as docker reports it (133), do name the cap.
  const aborted = capHitMessage({ success: false, code: 133, signal: null }, printed, {
    ...native,
    isolation: "docker",
  });
  assert.match(aborted ?? "", /stopped by its heap cap/);
});
