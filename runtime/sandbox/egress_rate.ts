/**
 * An egress bandwidth cap for a container, which Docker has no flag for: a token bucket (`tc`'s
 * `tbf` queueing discipline) on the root of the container's interface, set from inside its
 * network namespace with `nsenter`, so it shapes what the container sends and nothing else on
 * the host. {@linkcode egressRatePlan} builds the commands (pure); {@linkcode applyEgressRate}
 * runs them (docker mode does once a container runs); {@linkcode parseRate} reads a rate as users
 * write it. No imports: the option parser reads rates without loading docker's modules.
 *
 * @module
 */

/** Options for {@linkcode egressRatePlan}. */
export interface EgressRatePlanOptions {
  /** The cap, in bits per second ({@linkcode parseRate}). */
  bitsPerSecond: number;
  /** The interface inside the namespace (default `eth0`, a container's). */
  device?: string;
  /**
   * The bucket's size in bytes: how much may leave at once after a quiet spell (default a tenth
   * of a second at the rate, and never less than 128 KiB: a segmentation-offloaded packet must fit).
   */
  burstBytes?: number;
  /** How long a packet may wait for tokens before it is dropped (default 400 ms). */
  latencyMs?: number;
}

const UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
};

/**
 * Reads a rate: bits per second with an optional SI prefix (`10mbit`, `512kbit`, `1gbit`, or `10M`,
 * `512k`: bits), or bytes per second with `bps` as `tc` writes them (`1mbps` is 8 000 000 bits).
 *
 * @param text The rate as written.
 * @returns Bits per second.
 * @throws {RangeError} When it is not a positive rate in one of those forms, or below 8 kbit.
 *
 * @example
 * ```ts
 * import { parseRate } from "./egress_rate.ts";
 * console.log(parseRate("10mbit")); // 10000000
 * console.log(parseRate("1mbps")); // 8000000
 * ```
 */
export function parseRate(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([kmg]?)(bit|bps|)$/i.exec(text.trim());
  const value = match ? Number(match[1]) * UNITS[match[2].toLowerCase()] : NaN;
  const bits = match?.[3].toLowerCase() === "bps" ? value * 8 : value;
  if (!Number.isFinite(bits) || bits < 8000) {
    throw new RangeError(
      `Cannot cap egress at "${text}": give a rate such as 10mbit, 512kbit or 1mbps ` +
        `(at least 8kbit)`,
    );
  }
  return Math.round(bits);
}

/**
 * The commands that cap the egress of the network namespace of a process (a container's main
 * process): `tc qdisc replace … root tbf`, run through `nsenter --net`. Replacing, not adding,
 * so that applying twice changes the cap.
 *
 * @param pid The process whose network namespace is shaped (`docker inspect -f {{.State.Pid}}`).
 * @param options The rate and the bucket.
 * @returns The commands, each an argv.
 * @throws {RangeError} When the pid, the rate, the burst, the latency or the device name is not
 *   plain.
 *
 * @example
 * ```ts
 * import { egressRatePlan } from "./egress_rate.ts";
 * const [argv] = egressRatePlan(4242, { bitsPerSecond: 10_000_000 });
 * console.log(argv.join(" "));
 * // nsenter --target 4242 --net -- tc qdisc replace dev eth0 root tbf rate 10000000bit burst 131072 latency 400ms
 * ```
 */
export function egressRatePlan(pid: number, options: EgressRatePlanOptions): string[][] {
  const { bitsPerSecond } = options;
  const device = options.device ?? "eth0";
  const burst = options.burstBytes ?? Math.max(131072, Math.ceil(bitsPerSecond / 8 / 10));
  const latency = options.latencyMs ?? 400;
  if (!Number.isSafeInteger(pid) || pid <= 1) {
    throw new RangeError(`Cannot shape the network of process ${pid}: give a container's pid`);
  }
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,14}$/.test(device)) {
    throw new RangeError(`Cannot shape the interface "${device}": not an interface name`);
  }
  for (const [what, value] of [["rate", bitsPerSecond], ["burst", burst], ["latency", latency]]) {
    if (!Number.isSafeInteger(value) || (value as number) <= 0) {
      throw new RangeError(`Cannot use ${value} as the egress ${what}: give a positive integer`);
    }
  }
  return [[
    "nsenter",
    "--target",
    String(pid),
    "--net",
    "--",
    "tc",
    "qdisc",
    "replace",
    "dev",
    device,
    "root",
    "tbf",
    "rate",
    `${bitsPerSecond}bit`,
    "burst",
    String(burst),
    "latency",
    `${latency}ms`,
  ]];
}

/**
 * Runs the commands of {@linkcode egressRatePlan}. Requires `--allow-run=nsenter` and the
 * privileges to enter another network namespace (root, or `CAP_SYS_ADMIN` and `CAP_NET_ADMIN`).
 *
 * @param plan The commands.
 * @throws {Error} When one fails, with its stderr and what to check.
 *
 * @example
 * ```ts ignore
 * import { applyEgressRate, egressRatePlan, parseRate } from "./egress_rate.ts";
 * await applyEgressRate(egressRatePlan(pid, { bitsPerSecond: parseRate("10mbit") }));
 * ```
 */
export async function applyEgressRate(plan: string[][]): Promise<void> {
  for (const [program, ...args] of plan) {
    let result: Deno.CommandOutput;
    try {
      result = await new Deno.Command(program, { args, stdout: "null", stderr: "piped" }).output();
    } catch (error) {
      throw new Error(
        `Cannot cap egress: ${program} could not start (${(error as Error).message}); install ` +
          `util-linux and iproute2`,
        { cause: error },
      );
    }
    if (!result.success) {
      throw new Error(
        `Cannot cap egress: ${program} ${args.join(" ")} failed: ` +
          `${new TextDecoder().decode(result.stderr).trim()}. It needs root (or CAP_SYS_ADMIN ` +
          `and CAP_NET_ADMIN) and tc from iproute2`,
      );
    }
  }
}
