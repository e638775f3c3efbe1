/**
 * Isolated mode: one server process per session. Ids and progress tokens pass through unchanged,
 * every server message is the one session's, and a session whose server never initialized is
 * ended, since it is of no use.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type LinkState, Upstream, type UpstreamOptions } from "./_upstream.ts";

/** A server process serving exactly one session. */
export class PassThrough extends Upstream {
  /**
   * @param connect Starts the server and returns its transport (not yet started).
   * @param options Timeouts and the error sink.
   */
  constructor(connect: () => Promise<Transport>, options: UpstreamOptions) {
    super(connect, options, false);
  }

  protected override checkAttach(attached: number): void {
    if (attached > 0) {
      throw new RangeError("Cannot attach a second session to an isolated MCP server");
    }
  }

  protected override intercept(): boolean {
    return false;
  }

  protected override passInitialized(): boolean {
    return true;
  }

  protected override fanOut(): boolean {
    return false;
  }

  protected override initializeSucceeded(): void {}

  protected override initializeFailed(): void {}

  protected override initializeRefused(link: LinkState): void {
    link.down.close();
  }

  protected override keepsWithoutSession(): boolean {
    return false;
  }

  protected override detached(): void {}
}
