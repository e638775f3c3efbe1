/**
 * The network attack plan of security_container_net_test.ts: the fake internet's names, the
 * manifest's grants, the fake API's routes and every attempt the fixture makes, with why.
 *
 * @module
 */
import type { DriverConfig } from "./_container_net_driver.ts";
import type { FakeRoute } from "./fake_api.ts";
import { PRIVATE_ADDRESS, PUBLIC_ADDRESS } from "./fake_internet.ts";

/** The loopback port of the launcher's canary listener (the namespace is fresh: it is free). */
export const CANARY_PORT = 8081;
/** The manifest's net grants. */
export const NET: string[] = [
  "granted.test:80",
  "granted.test:443",
  `loop.test:${CANARY_PORT}`,
  `zero.test:${CANARY_PORT}`,
  `mapped.test:${CANARY_PORT}`,
  "inside.test:80",
];
/** The fake internet's /etc/hosts. */
export const HOSTS: Record<string, string> = {
  "granted.test": PUBLIC_ADDRESS,
  "evil.test": PUBLIC_ADDRESS,
  "loop.test": "127.0.0.1",
  "zero.test": "0.0.0.0",
  "mapped.test": "::ffff:127.0.0.1",
  "inside.test": PRIVATE_ADDRESS,
};
/** The fake API's answers: a page, and redirects from the granted host. */
export const ROUTES: FakeRoute[] = [
  { path: "/ok", json: { answer: "granted" } },
  { path: "/to-evil", status: 302, text: "", headers: { location: "http://evil.test/ok" } },
  {
    path: "/to-private",
    status: 302,
    text: "",
    headers: { location: `http://${PRIVATE_ADDRESS}/ok` },
  },
  {
    path: "/to-loop",
    status: 302,
    text: "",
    headers: { location: `http://loop.test:${CANARY_PORT}/` },
  },
  { path: "/to-granted", status: 302, text: "", headers: { location: "http://granted.test/ok" } },
];

/** The attempts whose Host header or target hides another host than the URL names. */
export const HOST_TRICKS: readonly string[] = [
  "host.toEvil",
  "host.fromEvil",
  "host.toLoopback",
  "host.originForm",
  "url.userinfo",
  "url.backslash",
  "connect.userinfo",
  "connect.space",
];

/** Every attempt, made in one container: [label, tool, arguments]. */
export const ATTEMPTS: DriverConfig["attempts"] = [
  // Positive controls: the granted host, by plain HTTP, HTTPS (a CONNECT tunnel) and redirect.
  ["control.fetch", "fetch", { url: "http://granted.test/ok" }],
  ["control.https", "fetch", { url: "https://granted.test/ok", insecure: true }],
  ["control.connect", "proxy_connect", { target: "granted.test:80" }],
  ["control.get", "proxy_get", { url: "http://granted.test/ok" }],
  ["control.redirect", "fetch", { url: "http://granted.test/to-granted" }],
  // An ungranted host through the proxy.
  ["ungranted.fetch", "fetch", { url: "http://evil.test/ok" }],
  ["ungranted.https", "fetch", { url: "https://evil.test/ok", insecure: true }],
  ["ungranted.connect", "proxy_connect", { target: "evil.test:443" }],
  ["ungranted.port", "proxy_connect", { target: `granted.test:${CANARY_PORT}` }],
  // IP literals: private, loopback, and the granted host's own public address.
  ["literal.private", "proxy_connect", { target: `${PRIVATE_ADDRESS}:80` }],
  ["literal.loopback", "proxy_connect", { target: `127.0.0.1:${CANARY_PORT}` }],
  ["literal.public", "proxy_connect", { target: `${PUBLIC_ADDRESS}:80` }],
  ["literal.get", "proxy_get", { url: `http://${PRIVATE_ADDRESS}/ok` }],
  // Other spellings of loopback.
  ["literal.zero", "proxy_connect", { target: `0.0.0.0:${CANARY_PORT}` }],
  ["literal.decimal", "proxy_connect", { target: `2130706433:${CANARY_PORT}` }],
  ["literal.short", "proxy_connect", { target: `127.1:${CANARY_PORT}` }],
  ["literal.ipv6", "proxy_connect", { target: `[::1]:${CANARY_PORT}` }],
  ["literal.mapped", "proxy_connect", { target: `[::ffff:127.0.0.1]:${CANARY_PORT}` }],
  // Granted names that resolve to loopback and to a private address.
  ["name.loopback", "proxy_connect", { target: `loop.test:${CANARY_PORT}` }],
  ["name.loopbackGet", "proxy_get", { url: `http://loop.test:${CANARY_PORT}/` }],
  ["name.zero", "proxy_connect", { target: `zero.test:${CANARY_PORT}` }],
  ["name.mapped", "proxy_connect", { target: `mapped.test:${CANARY_PORT}` }],
  ["name.private", "proxy_connect", { target: "inside.test:80" }],
  ["name.privateFetch", "fetch", { url: "http://inside.test/ok" }],
  // Host-header tricks: the URL and the Host disagree, or the request names no host at all.
  ["host.toEvil", "proxy_get", { url: "http://granted.test/ok", host_header: "evil.test" }],
  ["host.fromEvil", "proxy_get", { url: "http://evil.test/ok", host_header: "granted.test" }],
  [
    "host.toLoopback",
    "proxy_get",
    { url: "http://granted.test/ok", host_header: `127.0.0.1:${CANARY_PORT}` },
  ],
  ["host.originForm", "proxy_get", { url: "/ok", host_header: "evil.test" }],
  // URLs whose host is not what it seems, and a second request smuggled behind a granted one.
  ["url.userinfo", "proxy_get", { url: `http://granted.test@127.0.0.1:${CANARY_PORT}/` }],
  ["url.backslash", "proxy_get", { url: `http://127.0.0.1:${CANARY_PORT}\\@granted.test/` }],
  ["connect.userinfo", "proxy_connect", { target: `granted.test:80@127.0.0.1:${CANARY_PORT}` }],
  ["connect.space", "proxy_connect", { target: `granted.test:80 127.0.0.1:${CANARY_PORT}` }],
  [
    "smuggle.pipelined",
    "proxy_get",
    {
      url: "http://granted.test/ok",
      host_header:
        "granted.test\r\nConnection: keep-alive\r\n\r\nGET http://evil.test/smuggled HTTP/1.1\r\nHost: evil.test",
    },
  ],
  // Redirects from the granted host to the others.
  ["redirect.evil", "fetch", { url: "http://granted.test/to-evil" }],
  ["redirect.private", "fetch", { url: "http://granted.test/to-private" }],
  ["redirect.loopback", "fetch", { url: "http://granted.test/to-loop" }],
  // Around the proxy: no route, no resolver.
  ["direct.public", "connect", { host: PUBLIC_ADDRESS, port: 80 }],
  ["direct.private", "connect", { host: PRIVATE_ADDRESS, port: 80 }],
  ["direct.loopback", "connect", { host: "127.0.0.1", port: CANARY_PORT }],
  ["direct.resolve", "resolve", { host: "granted.test" }],
];
