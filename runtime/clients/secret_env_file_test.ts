import assert from "node:assert/strict";
import { join } from "node:path";
import { writeSecretEnvFile } from "./secret_env_file.ts";

const isWindows = Deno.build.os === "windows";

Deno.test({
  name: "writeSecretEnvFile() writes NAME=value lines readable only by the owner",
  ignore: isWindows,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const file = join(dir, "secrets", "github.env");
    const written = await writeSecretEnvFile(file, { GITHUB_TOKEN: "ghp_a=b c", OTHER: "" });
    assert.equal(await Deno.readTextFile(written), "GITHUB_TOKEN=ghp_a=b c\nOTHER=\n");
    assert.equal((await Deno.stat(written)).mode! & 0o777, 0o600);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(join(dir, "secrets")))).map((e) => e.name),
      [
        "github.env",
      ],
    );
  },
});

Deno.test({
  name: "writeSecretEnvFile() tightens an existing file to 0600 and keeps no backup",
  ignore: isWindows,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const file = join(dir, "x.env");
    await Deno.writeTextFile(file, "OLD=secret\n", { mode: 0o644 });
    await Deno.chmod(file, 0o644);
    await writeSecretEnvFile(file, { NEW: "1" });
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(file), "NEW=1\n");
    // Unchanged content still gets the mode fixed.
    await Deno.chmod(file, 0o644);
    await writeSecretEnvFile(file, { NEW: "1" });
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["x.env"]);
  },
});

Deno.test("writeSecretEnvFile() refuses values the env-file format cannot carry", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "x.env");
  await assert.rejects(writeSecretEnvFile(file, { A: "one\nB=injected" }), TypeError);
  await assert.rejects(writeSecretEnvFile(file, { "A B": "1" }), TypeError);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
});
