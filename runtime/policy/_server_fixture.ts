/** A resolved server that grants nothing, for unit tests to override field by field. */
import type { ResolvedServer } from "./resolve.ts";

/** Returns a server with no grants, `overrides` applied. */
export function serverFixture(overrides: Partial<ResolvedServer> = {}): ResolvedServer {
  return {
    name: "demo",
    specifier: "npm:demo@1.0.0",
    args: [],
    read: [],
    write: [],
    net: [],
    denyNet: [],
    env: [],
    secrets: [],
    requiredEnv: [],
    envValues: {},
    sys: [],
    run: [],
    ffi: [],
    params: {},
    ...overrides,
  };
}
