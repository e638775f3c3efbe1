import assert from "node:assert/strict";
import type { Manifest } from "../policy/manifest.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { entryVariables } from "./entry_variables.ts";

const SERVER: ResolvedServer = {
  name: "s",
  specifier: "npm:x@1.0.0",
  args: [],
  read: [],
  write: [],
  net: [],
  denyNet: [],
  env: ["API_TOKEN", "FIXED", "LOG_LEVEL", "OPTIONAL_TOKEN", "REGION", "TRACE_*"],
  secrets: ["API_TOKEN", "OPTIONAL_TOKEN"],
  requiredEnv: ["API_TOKEN", "REGION"],
  envValues: { FIXED: "/data/x" },
  sys: [],
  run: [],
  ffi: [],
  params: {},
};
const MANIFEST = {
  env: {
    REGION: { description: "Region", required: true },
    LOG_LEVEL: { description: "Log level", required: false },
    FIXED: { description: "Fixed", required: true, value: "/data/x" },
  },
  secrets: {
    API_TOKEN: { description: "API token", required: true },
    OPTIONAL_TOKEN: { description: "Second token", required: false },
  },
} as unknown as Manifest;

Deno.test("entryVariables() references secrets and writes only plain values", () => {
  const source = {
    API_TOKEN: "secret-1",
    OPTIONAL_TOKEN: "secret-2",
    LOG_LEVEL: "debug",
    TRACE_ALL: "1",
  };
  const { values, secrets } = entryVariables(SERVER, MANIFEST, { source });
  assert.deepEqual(values, { LOG_LEVEL: "debug" });
  assert.deepEqual(secrets, [
    { name: "API_TOKEN", description: "API token" },
    { name: "OPTIONAL_TOKEN", description: "Second token" },
    { name: "REGION", description: "Region" },
  ]);
  assert.ok(!JSON.stringify(values).includes("secret-"));
});

Deno.test("entryVariables() leaves out optional secrets that are not set", () => {
  const { values, secrets } = entryVariables(SERVER, MANIFEST, { source: {} });
  assert.deepEqual(values, {});
  assert.deepEqual(secrets.map((s) => s.name), ["API_TOKEN", "REGION"]);
});
