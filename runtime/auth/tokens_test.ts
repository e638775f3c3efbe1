import assert from "node:assert/strict";
import { join } from "node:path";
import { OAuthError } from "./oauth_error.ts";
import { MemoryTokenStore, TokenService, type TokenStore } from "./tokens.ts";
import { JsonFileTokenStore } from "./token_file_store.ts";

const R = "https://mcp.example.com/mcp";
const isCode = (code: string) => (e: unknown) => e instanceof OAuthError && e.code === code;

function service(store: TokenStore = new MemoryTokenStore()) {
  const clock = { t: 1_000_000 };
  const tokens = new TokenService(store, {
    accessTtlMs: 60_000,
    refreshTtlMs: 600_000,
    now: () => clock.t,
  });
  return { tokens, clock };
}

Deno.test("TokenService.verifyAccess() accepts its resource and refuses another audience", async () => {
  const { tokens } = service();
  const pair = await tokens.issue({ clientId: "c", resource: R, scope: "mcp", family: "f1" });
  assert.equal(pair.token_type, "Bearer");
  assert.equal(pair.expires_in, 60);
  assert.deepEqual(await tokens.verifyAccess(pair.access_token, R), {
    clientId: "c",
    scope: "mcp",
    expiresAt: 1_060_000,
    family: "f1",
  });
  await assert.rejects(
    tokens.verifyAccess(pair.access_token, "https://mcp.example.com/other"),
    isCode("invalid_token"),
  );
  await assert.rejects(tokens.verifyAccess(pair.refresh_token, R), isCode("invalid_token"));
  await assert.rejects(tokens.verifyAccess("mcpr_at_guess", R), isCode("invalid_token"));
});

Deno.test("TokenService.verifyAccess() refuses an expired token", async () => {
  const { tokens, clock } = service();
  const pair = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  clock.t += 59_999;
  await tokens.verifyAccess(pair.access_token, R);
  clock.t += 1;
  await assert.rejects(tokens.verifyAccess(pair.access_token, R), isCode("invalid_token"));
});

Deno.test("TokenService stores only hashes of tokens", async () => {
  const store = new MemoryTokenStore();
  const { tokens } = service(store);
  const pair = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  assert.equal(await store.get(pair.access_token), undefined);
  assert.equal(await store.deleteWhere(() => false), 0);
  let seen = 0;
  await store.deleteWhere((t) => {
    seen++;
    assert.match(t.hash, /^[0-9a-f]{64}$/);
    return false;
  });
  assert.equal(seen, 2);
});

Deno.test("TokenService.rotate() issues a new pair and revokes the family on reuse", async () => {
  const { tokens } = service();
  const first = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  const second = await tokens.rotate(first.refresh_token, "c");
  assert.notEqual(second.refresh_token, first.refresh_token);
  await tokens.verifyAccess(second.access_token, R);
  // The old refresh token is presented again (a thief, or the client after a leak).
  await assert.rejects(tokens.rotate(first.refresh_token, "c"), isCode("invalid_grant"));
  // The whole family is gone: the legitimate client's current tokens too.
  await assert.rejects(tokens.verifyAccess(second.access_token, R), isCode("invalid_token"));
  await assert.rejects(tokens.rotate(second.refresh_token, "c"), isCode("invalid_grant"));
});

const stores = {
  memory: () => Promise.resolve({ store: new MemoryTokenStore(), done: () => Promise.resolve() }),
  file: async () => {
    const dir = await Deno.makeTempDir();
    const store = new JsonFileTokenStore(join(dir, "tokens.json"));
    return { store, done: () => Deno.remove(dir, { recursive: true }) };
  },
};

for (const [name, open] of Object.entries(stores)) {
  Deno.test(`TokenService.rotate() lets at most one of two concurrent exchanges win (${name} store)`, async () => {
    const { store, done } = await open();
    try {
      const { tokens } = service(store);
      const pair = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
      const results = await Promise.allSettled([
        tokens.rotate(pair.refresh_token, "c"),
        tokens.rotate(pair.refresh_token, "c"),
      ]);
      assert.ok(results.some((r) => r.status === "rejected"), "both exchanges succeeded");
      // The second use counts as reuse: whatever the winner got is revoked too.
      for (const r of results) {
        if (r.status === "fulfilled") {
          await assert.rejects(
            tokens.verifyAccess(r.value.access_token, R),
            isCode("invalid_token"),
          );
        }
      }
      await assert.rejects(tokens.verifyAccess(pair.access_token, R), isCode("invalid_token"));
    } finally {
      await done();
    }
  });
}

Deno.test("TokenService.issue() and rotate() change the store in one edit each", async () => {
  const inner = new MemoryTokenStore();
  const writes: string[] = [];
  const counted = new Proxy(inner, {
    get(target, name: string) {
      const value = Reflect.get(target, name);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (name !== "get" && name !== "list") writes.push(name);
        return value.apply(target, args);
      };
    },
  }) as TokenStore;
  const { tokens } = service(counted);
  const pair = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  assert.deepEqual(writes, ["edit"], "the access and refresh token are written together");
  writes.length = 0;
  const next = await tokens.rotate(pair.refresh_token, "c");
  assert.deepEqual(writes, ["edit"], "claim and successor in one edit");
  await tokens.verifyAccess(next.access_token, R);
  writes.length = 0;
  await assert.rejects(tokens.rotate(pair.refresh_token, "c"), isCode("invalid_grant"));
  assert.deepEqual(writes, ["edit"], "reuse detection revokes in the same edit");
  await assert.rejects(tokens.verifyAccess(next.access_token, R), isCode("invalid_token"));
});

Deno.test("TokenService.rotate() refuses another client and an expired refresh token", async () => {
  const { tokens, clock } = service();
  const pair = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  await assert.rejects(tokens.rotate(pair.refresh_token, "evil"), isCode("invalid_grant"));
  // The leak revokes the family: the rightful client cannot use it either.
  await assert.rejects(tokens.rotate(pair.refresh_token, "c"), isCode("invalid_grant"));
  await assert.rejects(tokens.verifyAccess(pair.access_token, R), isCode("invalid_token"));
  const other = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  clock.t += 600_000;
  await assert.rejects(tokens.rotate(other.refresh_token, "c"), isCode("invalid_grant"));
});

Deno.test("TokenService.revoke() removes the family and only it", async () => {
  const { tokens } = service();
  const a = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  const b = await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  assert.equal(await tokens.revoke(a.refresh_token), 2);
  await assert.rejects(tokens.verifyAccess(a.access_token, R), isCode("invalid_token"));
  await tokens.verifyAccess(b.access_token, R);
  assert.equal(await tokens.revoke("unknown"), 0);
});

Deno.test("TokenService.grants() lists live sign-ins without tokens, and revokeFamily() ends one", async () => {
  const { tokens, clock } = service();
  const a = await tokens.issue({ clientId: "a", resource: R, scope: "mcp" });
  clock.t += 1000;
  const b = await tokens.issue({ clientId: "b", resource: R, scope: "mcp" });
  await tokens.rotate(a.refresh_token, "a");
  const grants = await tokens.grants();
  assert.deepEqual(grants.map((g) => [g.clientId, g.refreshExpiresAt, g.accessExpiresAt]), [
    ["a", 1_601_000, 1_061_000],
    ["b", 1_601_000, 1_061_000],
  ]);
  // A refresh keeps the time of the sign-in and records its own.
  assert.deepEqual(grants.map((g) => [g.clientId, g.signedInAt, g.refreshedAt]), [
    ["a", 1_000_000, 1_001_000],
    ["b", 1_001_000, 1_001_000],
  ]);
  assert.ok(
    !JSON.stringify(grants).includes(a.access_token) &&
      !JSON.stringify(grants).includes(b.refresh_token),
  );
  await tokens.revokeFamily(grants.find((g) => g.clientId === "b")!.family);
  await assert.rejects(tokens.verifyAccess(b.access_token, R), isCode("invalid_token"));
  assert.deepEqual((await tokens.grants()).map((g) => g.clientId), ["a"]);
  clock.t += 600_000;
  assert.deepEqual(await tokens.grants(), []);
});

Deno.test("TokenService.sweep() deletes expired tokens", async () => {
  const { tokens, clock } = service();
  await tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
  clock.t += 60_000;
  assert.equal(await tokens.sweep(), 1);
  clock.t += 600_000;
  assert.equal(await tokens.sweep(), 1);
});

Deno.test("JsonFileTokenStore keeps tokens across instances in a 0600 file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "state", "tokens.json");
    const first = service(new JsonFileTokenStore(file));
    const pair = await first.tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
    if (Deno.build.os !== "windows") assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    assert.ok(!Deno.readTextFileSync(file).includes(pair.access_token.slice(8)));
    const restarted = service(new JsonFileTokenStore(file));
    await restarted.tokens.verifyAccess(pair.access_token, R);
    const next = await restarted.tokens.rotate(pair.refresh_token, "c");
    await assert.rejects(restarted.tokens.rotate(pair.refresh_token, "c"), isCode("invalid_grant"));
    await assert.rejects(first.tokens.verifyAccess(next.access_token, R), isCode("invalid_token"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JsonFileTokenStore refuses a file that is not a token file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "tokens.json");
    Deno.writeTextFileSync(file, "{nope");
    await assert.rejects(new JsonFileTokenStore(file).get("x"), SyntaxError);
    Deno.writeTextFileSync(file, '{"version":2,"tokens":[]}');
    await assert.rejects(new JsonFileTokenStore(file).put({} as never), /version 1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JsonFileTokenStore.get() sees another instance's revocation after caching the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "tokens.json");
    const server = service(new JsonFileTokenStore(file));
    const cli = service(new JsonFileTokenStore(file)); // `mcp-run tokens revoke`, say
    const pair = await server.tokens.issue({ clientId: "c", resource: R, scope: "mcp" });
    await new Promise((r) => setTimeout(r, 1100)); // the file settles and is cached
    await server.tokens.verifyAccess(pair.access_token, R);
    await server.tokens.verifyAccess(pair.access_token, R);
    await cli.tokens.revoke(pair.access_token);
    await assert.rejects(server.tokens.verifyAccess(pair.access_token, R), isCode("invalid_token"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
