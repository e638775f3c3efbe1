import assert from "node:assert/strict";
import { appDataDir, configHomeDir, electronAppDataDir, joinFor } from "./_paths.ts";
import type { ClientEnvironment } from "./types.ts";

const LINUX: ClientEnvironment = { os: "linux", home: "/home/ada", cwd: "/src" };
const MAC: ClientEnvironment = { os: "darwin", home: "/Users/ada", cwd: "/src" };
const WIN: ClientEnvironment = { os: "windows", home: "C:\\Users\\ada", cwd: "D:\\src" };

Deno.test("joinFor() joins with the separator of the target OS, not the host's", () => {
  assert.equal(joinFor(LINUX, "/home/ada", ".cursor", "mcp.json"), "/home/ada/.cursor/mcp.json");
  assert.equal(
    joinFor(WIN, "C:\\Users\\ada", ".cursor", "mcp.json"),
    "C:\\Users\\ada\\.cursor\\mcp.json",
  );
  // A forward slash in a Windows path is normalised to a backslash.
  assert.equal(joinFor(WIN, "C:/Users/ada", "x"), "C:\\Users\\ada\\x");
});

Deno.test("appDataDir() prefers %APPDATA% and defaults to the roaming folder", () => {
  assert.equal(appDataDir(WIN), "C:\\Users\\ada\\AppData\\Roaming");
  assert.equal(appDataDir({ ...WIN, appData: "E:\\Roam" }), "E:\\Roam");
});

Deno.test("configHomeDir() prefers $XDG_CONFIG_HOME and defaults to ~/.config", () => {
  assert.equal(configHomeDir(LINUX), "/home/ada/.config");
  assert.equal(configHomeDir({ ...LINUX, configHome: "/xdg" }), "/xdg");
});

Deno.test("electronAppDataDir() picks each OS's application-data folder", () => {
  assert.equal(electronAppDataDir(LINUX), "/home/ada/.config");
  assert.equal(electronAppDataDir({ ...LINUX, configHome: "/xdg" }), "/xdg");
  assert.equal(electronAppDataDir(MAC), "/Users/ada/Library/Application Support");
  // macOS ignores XDG; Windows ignores it too.
  assert.equal(
    electronAppDataDir({ ...MAC, configHome: "/xdg" }),
    "/Users/ada/Library/Application Support",
  );
  assert.equal(
    electronAppDataDir({ ...WIN, configHome: "/xdg" }),
    "C:\\Users\\ada\\AppData\\Roaming",
  );
});
