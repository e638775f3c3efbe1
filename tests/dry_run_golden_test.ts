/**
 * The exact plan (`run --dry-run`) of every catalogue entry, natively and in docker, against
 * recorded copies in tests/testdata/dry_run/: a change to how commands, environments or mounts
 * are built shows up here, byte for byte. After a deliberate change, write the new copies with
 * `MCP_RUN_UPDATE_GOLDEN=1 tools/deno test -A tests/dry_run_golden_test.ts` and review the diff.
 * Entries whose package runs only in a container (`pypi:`, `oci:`) have no native plan: the
 * deno pass asserts that `--isolation deno` refuses them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ParameterSpec } from "../runtime/policy/manifest.ts";
import { listManifests } from "../runtime/registry/load.ts";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { IMAGE } from "./_docker.ts";

const GOLDEN = join(ROOT, "tests", "testdata", "dry_run");
const update = Deno.env.get("MCP_RUN_UPDATE_GOLDEN") === "1";
const work = tempDir("mcp-run-golden-");
const data = join(work, "data");
const cache = join(work, "cache");
const home = join(work, "home");
for (const dir of [data, home]) Deno.mkdirSync(dir);
// TLS trust a container server gets from the launcher's environment: the same file everywhere.
const caFile = join(work, "ca.pem");
Deno.writeTextFileSync(caFile, "");
// Docker isolation runs as the owner of write grants, never root: give the folder a user.
if (Deno.uid() === 0) Deno.chownSync(data, 1993, 1993);

/** A value of each parameter type: folders under `data`, a host that is never resolved. */
function paramValues(name: string, spec: ParameterSpec): string[] {
  const one = (type: string) =>
    type.startsWith("path")
      ? data
      : type.startsWith("host")
      ? "db.example.com:5432"
      : type === "number"
      ? "7"
      : type === "boolean"
      ? "true"
      : `${name}-value`;
  return [one(spec.type)];
}

/** Replaces what differs from machine to machine and run to run with fixed names. */
function normalize(text: string): string {
  return text
    .replaceAll(Deno.execPath(), "<deno>")
    .replaceAll(work, "<work>")
    .replaceAll(IMAGE, "<image>")
    .replace(/mcp-run-([a-z0-9-]+)-[0-9a-f]{12}\b/g, "mcp-run-$1-<random>")
    .replace(/launcher-pid=[0-9]+/g, "launcher-pid=<pid>")
    .replace(/launcher-pidns=[0-9]+/g, "launcher-pidns=<pidns>")
    .replace(/launcher-host=[^ "]+/g, "launcher-host=<host>")
    .replace(/"suffix": "[0-9a-f]{12}"/g, '"suffix": "<random>"');
}

const manifests = await listManifests();

for (const isolation of ["deno", "docker"] as const) {
  Deno.test(`mcp-run run --dry-run plans every catalogue entry as recorded (${isolation})`, async () => {
    const problems: string[] = [];
    for (const { manifest } of manifests) {
      const params = Object.entries(manifest.parameters ?? {})
        .filter(([, spec]) => spec.required || spec.type.endsWith("[]"))
        .flatMap(([name, spec]) => paramValues(name, spec).flatMap((v) => ["-p", `${name}=${v}`]));
      const secrets = Object.fromEntries(
        [...Object.keys(manifest.secrets ?? {}), ...Object.keys(manifest.env ?? {})]
          .map((name) => [name, `${name.toLowerCase()}-value`]),
      );
      // pypi: and oci: packages run only in a container: natively they are refused (asserted
      // below), and in docker they keep their own pinned image.
      const containerOnly = /^(pypi|oci):/.test(manifest.package);
      const docker = isolation === "deno"
        ? containerOnly ? ["--isolation", "deno"] : []
        : containerOnly
        ? ["--isolation", "docker"]
        : ["--isolation", "docker", "--image", IMAGE];
      const r = await cli(
        [
          "run",
          manifest.name,
          ...params,
          ...docker,
          "--dry-run",
          "--format",
          "json",
          "--cache",
          cache,
        ],
        {
          env: {
            HOME: home,
            PATH: "/usr/local/bin:/usr/bin:/bin",
            SSL_CERT_FILE: caFile,
            REQUESTS_CA_BUNDLE: caFile,
            ...secrets,
          },
          cwd: work,
        },
      );
      if (isolation === "deno" && containerOnly) {
        if (r.code !== 3 || !/runs only in a container: use --isolation docker/.test(r.stderr)) {
          problems.push(`${manifest.name}: not refused natively (${r.code}): ${r.stderr}`);
        }
        continue;
      }
      assert.equal(r.code, 0, `${manifest.name}: ${r.stderr}`);
      const got = normalize(r.stdout);
      const file = join(GOLDEN, `${manifest.name}.${isolation}.json`);
      if (update) {
        await Deno.mkdir(GOLDEN, { recursive: true });
        await Deno.writeTextFile(file, got);
        continue;
      }
      let want: string;
      try {
        want = await Deno.readTextFile(file);
      } catch {
        problems.push(`${manifest.name}: no recorded plan ${file}`);
        continue;
      }
      if (got !== want) problems.push(`${manifest.name}: the plan differs from ${file}\n${got}`);
    }
    assert.deepEqual(problems, [], problems.join("\n\n"));
  });
}
