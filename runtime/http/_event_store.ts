/**
 * Resumable event streams (protocol 2025-11-25): what a session's streams sent, kept so that a
 * client reconnecting with `Last-Event-ID` gets what it missed. One store per session, dropped
 * with it; bounded per stream and per session, in events and in bytes (the oldest go first).
 * A request stream whose answers all reached the client ({@linkcode watchDelivery}) is dropped at
 * once: what stays is the GET stream and request streams cut before their answer.
 * Event ids are `<stream key>.<sequence>`, the key 256 random bits per stream: an id from another
 * session, or a forged one, names no stream here and replays nothing.
 *
 * @module
 */
import type {
  EventId,
  EventStore,
  StreamId,
} from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { randomSessionId } from "./_http_io.ts";

/** Limits of one {@linkcode SessionEventStore}. */
export interface EventStoreLimits {
  /** Most events kept per stream. Default 100. */
  maxEventsPerStream?: number;
  /** Most bytes (of JSON text) kept per stream. Default 1 MiB. */
  maxBytesPerStream?: number;
  /** Most events kept for the whole session. Default 1000. */
  maxEvents?: number;
  /** Most bytes kept for the whole session. Default 2 MiB. */
  maxBytes?: number;
}

interface StoredEvent {
  readonly stream: StreamState;
  readonly seq: number;
  readonly message: JSONRPCMessage;
  readonly bytes: number;
}

interface StreamState {
  readonly id: StreamId;
  readonly key: string;
  /** The last sequence number handed out. */
  seq: number;
  /** Kept events, oldest first. */
  readonly events: StoredEvent[];
  bytes: number;
  /** Whether an answer (a JSON-RPC response) was sent on it. */
  answered: boolean;
  /** The newest sequence number dropped by a bound (0: none). */
  dropped: number;
}

/** An event id, parsed: the stream key and the sequence number. */
const EVENT_ID = /^([A-Za-z0-9_-]{43})\.(\d{1,15})$/;

/** The events of one session's streams, for replay after a reconnect. */
export class SessionEventStore implements EventStore {
  readonly #limits: Required<EventStoreLimits>;
  readonly #byId = new Map<StreamId, StreamState>();
  readonly #byKey = new Map<string, StreamState>();
  /** Every kept event, oldest first (across streams), for the session-wide bound. */
  readonly #order = new Set<StoredEvent>();
  #bytes = 0;

  /**
   * @param limits Per-stream and per-session bounds.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(limits: EventStoreLimits = {}) {
    this.#limits = {
      maxEventsPerStream: 100,
      maxBytesPerStream: 1024 * 1024,
      maxEvents: 1000,
      maxBytes: 2 * 1024 * 1024,
      ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`Cannot create the event store: "${name}" must be a positive integer`);
      }
    }
  }

  /** Events kept, across streams. */
  get size(): number {
    return this.#order.size;
  }

  /** Bytes kept, across streams. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Keeps an event and names it. An empty message (the SDK's priming event) gets an id and is
   * not kept: it carries nothing to replay.
   *
   * @param streamId The SDK's stream id.
   * @param message The message sent on it.
   * @returns Its event id.
   */
  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const stream = this.#stream(streamId);
    const seq = ++stream.seq;
    const id = `${stream.key}.${seq}`;
    if (Object.keys(message).length === 0) return Promise.resolve(id);
    const bytes = JSON.stringify(message).length;
    const event: StoredEvent = { stream, seq, message, bytes };
    if ("result" in message || "error" in message) stream.answered = true;
    stream.events.push(event);
    stream.bytes += bytes;
    this.#order.add(event);
    this.#bytes += bytes;
    const limits = this.#limits;
    while (
      stream.events.length > limits.maxEventsPerStream || stream.bytes > limits.maxBytesPerStream
    ) this.#drop(stream.events[0]);
    while (this.#order.size > limits.maxEvents || this.#bytes > limits.maxBytes) {
      this.#drop(this.#order.values().next().value as StoredEvent);
    }
    if (this.#byId.size > limits.maxEvents) this.#forgetEmptyStream(stream);
    return Promise.resolve(id);
  }

  /**
   * The stream an event id belongs to, when it is one of this session's.
   *
   * @param eventId The `Last-Event-ID` header.
   * @returns The SDK's stream id, or undefined for an id that names no stream here.
   */
  getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return Promise.resolve(this.#find(eventId)?.stream.id);
  }

  /**
   * Sends the events of `lastEventId`'s stream that came after it, oldest first. Events already
   * dropped by the bounds are not sent: the bridge refuses such a resume first
   * ({@linkcode SessionEventStore.lostAfter}).
   *
   * @param lastEventId The `Last-Event-ID` header.
   * @param sink Where the SDK writes them.
   * @returns The stream's SDK id.
   * @throws {RangeError} If the id names no stream of this session (the SDK answers 400 first).
   */
  async replayEventsAfter(
    lastEventId: EventId,
    sink: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const found = this.#find(lastEventId);
    if (found === undefined) {
      throw new RangeError(`Cannot resume the stream: event id "${lastEventId}" is not known`);
    }
    const { stream, seq } = found;
    for (const event of [...stream.events]) {
      if (event.seq > seq) await sink.send(`${stream.key}.${event.seq}`, event.message);
    }
    return stream.id;
  }

  /**
   * Whether events sent after an id were dropped by the bounds: resuming from it would leave a
   * gap the client cannot see.
   *
   * @param eventId The `Last-Event-ID` header.
   * @returns True when something after it is lost; false for a complete backlog or an id that
   *   names no stream here.
   */
  lostAfter(eventId: EventId): boolean {
    const found = this.#find(eventId);
    return found !== undefined && found.stream.dropped > found.seq;
  }

  /**
   * Forgets a request stream that was read to its end: its answers reached the client, so
   * nothing of it will be asked for again. A stream with no answer yet is kept.
   *
   * @param eventId Any event id of the stream (its priming event's).
   */
  forgetDelivered(eventId: EventId): void {
    const stream = this.#find(eventId)?.stream;
    if (stream === undefined || !stream.answered) return;
    for (const event of [...stream.events]) this.#drop(event);
    this.#byId.delete(stream.id);
    this.#byKey.delete(stream.key);
  }

  /** Forgets every stream and event (the session ended). */
  clear(): void {
    this.#byId.clear();
    this.#byKey.clear();
    this.#order.clear();
    this.#bytes = 0;
  }

  #stream(streamId: StreamId): StreamState {
    let stream = this.#byId.get(streamId);
    if (stream === undefined) {
      stream = {
        id: streamId,
        key: randomSessionId(),
        seq: 0,
        events: [],
        bytes: 0,
        answered: false,
        dropped: 0,
      };
      this.#byId.set(streamId, stream);
      this.#byKey.set(stream.key, stream);
    }
    return stream;
  }

  #find(eventId: EventId): { stream: StreamState; seq: number } | undefined {
    const match = EVENT_ID.exec(eventId);
    if (match === null) return undefined;
    const stream = this.#byKey.get(match[1]);
    const seq = Number(match[2]);
    if (stream === undefined || seq > stream.seq) return undefined;
    return { stream, seq };
  }

  /** Forgets the oldest stream with nothing kept, so that stream records stay bounded too. */
  #forgetEmptyStream(current: StreamState): void {
    for (const stream of this.#byId.values()) {
      if (stream === current || stream.events.length > 0) continue;
      this.#byId.delete(stream.id);
      this.#byKey.delete(stream.key);
      return;
    }
  }

  #drop(event: StoredEvent): void {
    const { stream } = event;
    stream.dropped = Math.max(stream.dropped, event.seq);
    // Events leave in order: per stream, and across streams, the oldest is dropped first.
    const index = stream.events.indexOf(event);
    if (index >= 0) stream.events.splice(index, 1);
    stream.bytes -= event.bytes;
    this.#order.delete(event);
    this.#bytes -= event.bytes;
  }
}

/**
 * Watches a request's event stream: when the SDK has closed it (its answers written) and the
 * client has read it to the end, `delivered` gets the stream's first event id. A stream the
 * client cut reports nothing: it may be resumed.
 *
 * @param response The SDK's response to a POST.
 * @param delivered Told the stream's first event id once it was read to the end.
 * @returns The same response, its body watched (unchanged when it is not an event stream).
 * @example
 * ```ts
 * import { watchDelivery } from "./_event_store.ts";
 * const sse = new Response("id: k.1\ndata: \n\n", {
 *   headers: { "content-type": "text/event-stream" },
 * });
 * const seen: string[] = [];
 * await watchDelivery(sse, (id) => seen.push(id)).text();
 * console.assert(seen[0] === "k.1");
 * ```
 */
export function watchDelivery(response: Response, delivered: (eventId: EventId) => void): Response {
  const body = response.body;
  if (body === null || !response.headers.get("content-type")?.includes("text/event-stream")) {
    return response;
  }
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let head = "";
  let firstId: string | undefined;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          controller.close();
          if (firstId !== undefined) delivered(firstId);
          return;
        }
        if (firstId === undefined && head.length < 4096) {
          head += decoder.decode(chunk.value, { stream: true });
          firstId = /^id: ?(\S+)$/m.exec(head)?.[1];
        }
        controller.enqueue(chunk.value);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(stream, { status: response.status, headers: response.headers });
}
