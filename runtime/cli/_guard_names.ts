/**
 * The guard's options by name, and as parsed: what the option parser needs, without loading the
 * guard itself (every command parses options; only launches load the guard).
 *
 * @module
 */

/** The guard's options as parsed (strings as typed). */
export interface GuardFlags {
  /** `--request-timeout SECONDS` (run; serve reads it for its bridge). */
  "request-timeout"?: string;
  /** `--tools a,b`: only these tools. */
  tools?: string[];
  /** `--exclude-tools a,b`: never these tools. */
  "exclude-tools"?: string[];
  /** `--scan warn|block`. */
  scan?: string;
  /** `-p NAME=VALUE` as typed (named in the approve command a pin refusal gives). */
  param?: string[];
  /** `--cache DIR` as typed (named there too: the pins live in that cache). */
  cache?: string;
  /** `--audit FILE`: the audit log's JSONL file (`run`, `serve`, launcher entries). */
  audit?: string;
  /** `--audit-content`: record arguments and results too. */
  "audit-content"?: boolean;
}

/**
 * The guard options `run` and `serve` take (besides `--request-timeout`, which both have); also
 * `inspect` and `call` (which judge what they show and call by them), and `config` and `install`
 * (whose launcher-form entries pass them on).
 */
export const GUARD_OPTIONS: readonly string[] = ["tools", "exclude-tools", "scan"];

/** The audit log's options: `run`, `serve`, and `config`/`install` (launcher entries pass them on). */
export const AUDIT_OPTIONS: readonly string[] = ["audit", "audit-content"];
