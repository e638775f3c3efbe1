/** Request and response ids of JSON-RPC lines, for answering requests a peer failed to answer. */

/** A JSON-RPC id. */
export type Id = string | number;

/** Finds the id of an open request in the edges of a dropped line (`"id":…` near an end). */
export function findId(head: string, tail: string, pending: Set<Id>): Id | undefined {
  for (const text of [tail, head]) {
    for (const m of text.matchAll(/"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")/g)) {
      const id: Id = m[1].startsWith('"') ? JSON.parse(m[1]) : Number(m[1]);
      if (pending.has(id)) return id;
    }
  }
  return undefined;
}
