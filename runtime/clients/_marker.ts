// The environment variable that marks an entry as written by mcp-run.

/**
 * Every entry mcp-run writes carries this variable in its environment map. Every client
 * accepts an `env` map and passes it only to the process it starts (Deno, Docker or the
 * launcher), where the server cannot read it: Deno runs servers with `--ignore-env` and an
 * explicit allow-list, and Docker passes only the `-e` names it is given.
 */
export const MANAGED_ENV = "MCP_RUN_MANAGED";

/** Value of {@link MANAGED_ENV}. */
export const MANAGED_VALUE = "1";
