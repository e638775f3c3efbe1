// Test driver for DNS rebinding, run inside a mount namespace whose /etc/hosts is `hostsFile`:
// launches a server exactly as `mcp-run call` does (so the pre-launch name check sees the first
// answers), then before each tool call rewrites the hosts file, so the server's own lookups get
// new answers. Prints the tool results as a JSON array.
//
// Usage: deno run -A rebind_driver.ts '{"manifest":…,"root":…,"params":{},"hostsFile":…,
//   "steps":[{"hosts":"…","tool":"fetch","args":{…}}]}'
import { connectServer, parseManifest, resolveServer } from "../../mod.ts";

interface Step {
  hosts: string;
  tool: string;
  args: Record<string, unknown>;
}
const config = JSON.parse(Deno.args[0]) as {
  manifest: string;
  root: string;
  params: Record<string, string>;
  hostsFile: string;
  steps: Step[];
};
const manifest = parseManifest(Deno.readTextFileSync(config.manifest));
const server = resolveServer(manifest, { cacheRoot: config.root, params: config.params });
const connected = await connectServer(server, {
  cacheRoot: config.root,
  source: {},
  progress: () => {},
  onStderr: () => {},
  approve: true, // the test's shared cache holds other manifests of the fixture
});
const results: unknown[] = [];
for (const step of config.steps) {
  Deno.writeTextFileSync(config.hostsFile, step.hosts);
  const result = await connected.client.callTool({ name: step.tool, arguments: step.args });
  const content = result.content as { text: string }[];
  results.push(JSON.parse(content[0].text));
}
await connected.close();
console.log(JSON.stringify(results));
