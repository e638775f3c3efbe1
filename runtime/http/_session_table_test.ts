import assert from "node:assert/strict";
import { type SessionEntry, SessionTable } from "./_session_table.ts";

interface Entry extends SessionEntry {
  name: string;
  inflight: number;
}

function table(
  options: { maxSessions?: number; maxSessionsPerClient?: number; others?: () => number } = {},
) {
  const ended: string[] = [];
  const sessions: SessionTable<Entry> = new SessionTable<Entry>({
    maxSessions: options.maxSessions ?? 10,
    maxSessionsPerClient: options.maxSessionsPerClient ?? 10,
    idleTimeoutMs: 100,
    others: options.others,
    end: (session) => {
      ended.push(session.name);
      sessions.remove(session);
    },
  });
  return { sessions, ended };
}

function entry(name: string, client = "a", principal = "token:0", lastActivity = 0): Entry {
  return { name, id: undefined, client, principal, lastActivity, inflight: 0 };
}

Deno.test("SessionTable.find() finds a session only with the principal that created it", () => {
  const { sessions } = table();
  const session = entry("s", "a", "token:1");
  sessions.add(session);
  assert.equal(sessions.find("id", "token:1"), undefined, "no id yet");
  sessions.bind(session, "id");
  assert.equal(sessions.find("id", "token:1"), session);
  assert.equal(sessions.find("id", "token:0"), undefined, "another principal");
  assert.equal(sessions.find("id", ""), undefined, "no authentication");
  sessions.remove(session);
  assert.equal(sessions.find("id", "token:1"), undefined, "removed");
  sessions.bind(session, "late");
  assert.equal(
    sessions.find("late", "token:1"),
    undefined,
    "an id given after removal is not kept",
  );
});

Deno.test("SessionTable.admit() makes room per client by ending the least recently used idle session", () => {
  const { sessions, ended } = table({ maxSessionsPerClient: 2 });
  const old = entry("old", "a", "token:0", 1);
  const recent = entry("recent", "a", "token:0", 5);
  sessions.add(recent);
  sessions.add(old);
  sessions.add(entry("other-client", "b", "token:0", 0));
  assert.equal(sessions.admit("b", "token:0"), undefined);
  assert.equal(sessions.admit("a", "token:0"), undefined);
  assert.deepEqual(ended, ["old"]);
  sessions.add(entry("new", "a", "token:0", 9));
  recent.inflight = 1;
  assert.equal(
    sessions.admit("a", "token:1"),
    "client-full",
    "another principal's sessions are not ended",
  );
  assert.equal(sessions.admit("a", "token:0"), undefined, "the idle 'new' one goes");
  assert.deepEqual(ended, ["old", "new"]);
  const busy = entry("busy", "a", "token:0", 0);
  busy.inflight = 1;
  sessions.add(busy);
  assert.equal(sessions.admit("a", "token:0"), "client-full", "a session in flight is never ended");
});

Deno.test("SessionTable.admit() refuses beyond the total", () => {
  const { sessions } = table({ maxSessions: 2 });
  sessions.add(entry("1", "a"));
  sessions.add(entry("2", "b"));
  assert.equal(sessions.admit("c", "token:0"), "full");
  assert.equal(sessions.size, 2);
});

Deno.test("SessionTable.admit() counts the other processes sharing the budget", () => {
  let others = 2;
  const { sessions } = table({ maxSessions: 3, others: () => others });
  sessions.add(entry("1", "a"));
  assert.equal(sessions.admit("b", "p"), "full");
  others = 1;
  assert.equal(sessions.admit("b", "p"), undefined);
});

Deno.test("SessionTable.sweep() ends idle sessions, never one with a request in flight", () => {
  const { sessions, ended } = table();
  const busy = entry("busy", "a", "token:0", 0);
  busy.inflight = 1;
  sessions.add(busy);
  sessions.add(entry("idle", "a", "token:0", 0));
  sessions.add(entry("fresh", "a", "token:0", 150));
  sessions.sweep(200);
  assert.deepEqual(ended, ["idle"]);
  assert.deepEqual(sessions.all().map((s) => s.name), ["busy", "fresh"]);
});
