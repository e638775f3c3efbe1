/**
 * MCP Streamable HTTP for stdio servers: `mcp-run serve` as functions. `serveServer` serves a
 * resolved server, sandboxed exactly as `run` starts it; `serveHttpBridge` listens with any
 * `connect` factory; `createHttpBridge` is the web-standard `(Request) => Promise<Response>`
 * handler beneath both, for a server of your own. The bridge enforces Host and Origin allow
 * lists, authentication through one `RequestAuthorizer` (bearer tokens, OAuth, or your own),
 * body, time, rate and session limits, and passes only JSON-RPC messages to the server process.
 *
 * @example A request for a host that is not allowed is refused before any server starts
 * ```ts
 * import { createHttpBridge, loopbackHosts } from "jsr:@sandboxed/mcp-run/http";
 *
 * const bridge = createHttpBridge({
 *   connect: () => Promise.reject(new Error("no server in this example")),
 *   allowedHosts: loopbackHosts(8080),
 * });
 * const response = await bridge.handler(new Request("http://evil.example/mcp", { method: "POST" }));
 * console.log(response.status); // 403
 * await bridge.close();
 * ```
 *
 * @module
 */

// Serve a resolved server.
export { serveServer, type ServeServerOptions } from "./serve_server.ts";

// Listen with any server factory.
export {
  checkBindAddress,
  type CheckBindAddressOptions,
  defaultAllowedHosts,
  type HttpBridgeServer,
  isLoopbackAddress,
  serveHttpBridge,
  type ServeHttpBridgeOptions,
} from "./serve.ts";

// The handler itself.
export {
  type AuthorizerClient,
  BridgeErrorCode,
  type ClientInfo,
  createHttpBridge,
  type HttpBridge,
  type HttpBridgeOptions,
  type HttpBridgeStats,
  loopbackHosts,
  type RequestAuthorizer,
  type SessionMode,
} from "./bridge.ts";
export {
  BearerTokenAuthorizer,
  MIN_TOKEN_LENGTH,
  readTokenFile,
  TokenVerifier,
} from "./bearer_token.ts";

// The policy and sandbox types `serveServer` takes (also exported by `./policy` and `./sandbox`).
export type {
  EnvSpec,
  Manifest,
  ManifestPermissions,
  ParameterSpec,
  ParameterType,
} from "../policy/manifest.ts";
export type { ResolvedServer } from "../policy/resolve.ts";
export type {
  PreparedLaunch,
  Sandbox,
  SandboxPlanOptions,
  SandboxSpawnOptions,
} from "../sandbox/sandbox.ts";
export type { CheckHostAddressesOptions } from "../policy/net_preflight.ts";
export type {
  DenoLaunchPlanOptions,
  LaunchPlan,
  PrepareServerOptions,
} from "../sandbox/launch_plan.ts";
export type { ServerProcess, SpawnServerOptions } from "../sandbox/server_process.ts";
export type { SplitLine } from "../sandbox/line_splitter.ts";
