/**
 * A small guard context for the stages' unit tests: the guard's own requests answered from a
 * table, and everything sent or logged recorded.
 *
 * @module
 */
import type { GuardContext, Message } from "./stage.ts";

/** A test context and what it recorded. */
export interface TestContext extends GuardContext {
  /** Lines logged. */
  readonly logs: string[];
  /** The guard's own requests, by method. */
  readonly requests: string[];
}

/**
 * Builds a test context.
 *
 * @param answers The answer to each method the stage may request itself.
 * @returns The context.
 */
export function testContext(answers: Record<string, Record<string, unknown>> = {}): TestContext {
  const logs: string[] = [];
  const requests: string[] = [];
  return {
    server: "fixture",
    session: "s1",
    clientInit: undefined,
    serverInit: undefined,
    logs,
    requests,
    request(method: string): Promise<Record<string, unknown>> {
      requests.push(method);
      const answer = answers[method];
      return answer ? Promise.resolve(answer) : Promise.reject(new Error(`no ${method}`));
    },
    toClient(_message: Message): void {},
    toServer(_message: Message): void {},
    stopServer(_reason: string): void {},
    log(line: string): void {
      logs.push(line);
    },
  };
}
