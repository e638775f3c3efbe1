import assert from "node:assert/strict";
import {
  consentCookie,
  escapeHtml,
  readConsentCookie,
  renderConsentPage,
  renderErrorPage,
} from "./consent_page.ts";

const VIEW = {
  serverName: "docs<x>",
  resource: "https://mcp.example.com/mcp",
  clientId: "https://app.example.com/client.json",
  clientName: 'App " onmouseover="x',
  clientSource: "document" as const,
  redirectUri: "https://app.example.com/cb?a=<b>",
  requestId: 'r"1',
  csrfToken: "t<1>",
  totp: true,
};

Deno.test("renderConsentPage() escapes every value and names client, host and server", () => {
  const html = renderConsentPage({ ...VIEW, error: "<wrong>" });
  assert.ok(!/<x>|<b>|<wrong>|<1>|onmouseover="/.test(html));
  assert.ok(html.includes("docs&lt;x&gt;"));
  assert.ok(html.includes("described by <code>app.example.com</code>"));
  assert.ok(html.includes('value="r&quot;1"'));
  assert.ok(html.includes('name="totp"'));
  assert.ok(!html.includes("<script"));
  const registered = renderConsentPage({ ...VIEW, clientSource: "registered", totp: false });
  assert.ok(registered.includes("registered dynamically, unverified"));
  assert.ok(!registered.includes('name="totp"'));
});

Deno.test("renderErrorPage() escapes its message", () => {
  assert.ok(renderErrorPage("T", "<img src=x>").includes("&lt;img src=x&gt;"));
  assert.equal(escapeHtml(`&<>"'`), "&amp;&lt;&gt;&quot;&#39;");
});

Deno.test("consentCookie() uses __Host- and Secure on https only, and readConsentCookie() reads it", () => {
  assert.match(
    consentCookie("a", true),
    /^__Host-mcp-run-consent=a; Path=\/;.*HttpOnly; SameSite=Strict; Secure$/,
  );
  assert.doesNotMatch(consentCookie("a", false), /Secure|__Host-/);
  const req = (cookie: string) => new Request("https://x/", { headers: { cookie } });
  assert.equal(readConsentCookie(req("__Host-mcp-run-consent=v; o=1"), true), "v");
  assert.equal(
    readConsentCookie(req("mcp-run-consent=v"), true),
    null,
    "the unprefixed cookie on https",
  );
  assert.equal(readConsentCookie(req("xmcp-run-consent=v"), false), null);
});
