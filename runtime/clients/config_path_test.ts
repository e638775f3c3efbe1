import assert from "node:assert/strict";
import { clientConfigPath, scopeFor } from "./config_path.ts";
import { getClient } from "./registry.ts";
import type { ClientEnvironment, ClientId, ConfigScope } from "./types.ts";

const LINUX: ClientEnvironment = { os: "linux", home: "/home/ada", cwd: "/src/app" };
const XDG: ClientEnvironment = { ...LINUX, configHome: "/xdg" };
const MAC: ClientEnvironment = { os: "darwin", home: "/Users/ada", cwd: "/src/app" };
const WIN: ClientEnvironment = {
  os: "windows",
  home: "C:\\Users\\ada",
  appData: "C:\\Users\\ada\\AppData\\Roaming",
  cwd: "D:\\src\\app",
};

const CASES: [ClientId, ConfigScope, ClientEnvironment, string][] = [
  ["claude-desktop", "user", LINUX, "/home/ada/.config/Claude/claude_desktop_config.json"],
  ["claude-desktop", "user", XDG, "/xdg/Claude/claude_desktop_config.json"],
  [
    "claude-desktop",
    "user",
    MAC,
    "/Users/ada/Library/Application Support/Claude/claude_desktop_config.json",
  ],
  [
    "claude-desktop",
    "user",
    WIN,
    "C:\\Users\\ada\\AppData\\Roaming\\Claude\\claude_desktop_config.json",
  ],
  ["vscode", "user", LINUX, "/home/ada/.config/Code/User/mcp.json"],
  ["vscode", "user", MAC, "/Users/ada/Library/Application Support/Code/User/mcp.json"],
  ["vscode", "user", WIN, "C:\\Users\\ada\\AppData\\Roaming\\Code\\User\\mcp.json"],
  ["vscode", "project", LINUX, "/src/app/.vscode/mcp.json"],
  ["vscode", "project", WIN, "D:\\src\\app\\.vscode\\mcp.json"],
  ["cursor", "user", LINUX, "/home/ada/.cursor/mcp.json"],
  ["cursor", "user", MAC, "/Users/ada/.cursor/mcp.json"],
  ["cursor", "user", WIN, "C:\\Users\\ada\\.cursor\\mcp.json"],
  ["cursor", "project", MAC, "/src/app/.cursor/mcp.json"],
  ["claude-code", "user", LINUX, "/home/ada/.claude.json"],
  ["claude-code", "user", WIN, "C:\\Users\\ada\\.claude.json"],
  ["claude-code", "project", LINUX, "/src/app/.mcp.json"],
  ["claude-code", "project", WIN, "D:\\src\\app\\.mcp.json"],
  ["windsurf", "user", LINUX, "/home/ada/.codeium/windsurf/mcp_config.json"],
  ["windsurf", "user", MAC, "/Users/ada/.codeium/windsurf/mcp_config.json"],
  ["windsurf", "user", WIN, "C:\\Users\\ada\\.codeium\\windsurf\\mcp_config.json"],
  ["zed", "user", LINUX, "/home/ada/.config/zed/settings.json"],
  ["zed", "user", XDG, "/xdg/zed/settings.json"],
  ["zed", "user", MAC, "/Users/ada/.config/zed/settings.json"],
  ["zed", "user", WIN, "C:\\Users\\ada\\AppData\\Roaming\\Zed\\settings.json"],
  ["zed", "project", LINUX, "/src/app/.zed/settings.json"],
  ["goose", "user", LINUX, "/home/ada/.config/goose/config.yaml"],
  ["goose", "user", XDG, "/xdg/goose/config.yaml"],
  ["goose", "user", MAC, "/Users/ada/.config/goose/config.yaml"],
  ["goose", "user", WIN, "C:\\Users\\ada\\AppData\\Roaming\\Block\\goose\\config\\config.yaml"],
  ["continue", "user", LINUX, "/home/ada/.continue/mcpServers/memory.yaml"],
  ["continue", "user", WIN, "C:\\Users\\ada\\.continue\\mcpServers\\memory.yaml"],
  ["continue", "project", MAC, "/src/app/.continue/mcpServers/memory.yaml"],
];

for (const [client, scope, environment, expected] of CASES) {
  Deno.test(`clientConfigPath() finds ${client} ${scope} config on ${environment.os}`, () => {
    assert.equal(clientConfigPath(client, { scope, environment, name: "memory" }), expected);
  });
}

Deno.test("clientConfigPath() defaults %APPDATA% to the roaming folder of the home", () => {
  const environment = { os: "windows" as const, home: "C:\\Users\\bo", cwd: "C:\\" };
  assert.equal(
    clientConfigPath("vscode", { environment, name: "x" }),
    "C:\\Users\\bo\\AppData\\Roaming\\Code\\User\\mcp.json",
  );
});

Deno.test("scopeFor() refuses a scope the client does not read", () => {
  assert.throws(
    () => scopeFor(getClient("claude-desktop"), "project"),
    /Cannot use scope "project" with Claude Desktop: it reads only "user" configuration/,
  );
  assert.equal(scopeFor(getClient("claude-code"), "project"), "project");
  assert.equal(scopeFor(getClient("claude-code"), undefined), "user");
});
