/**
 * Yes/no questions a command asks the person at the terminal (approving pins, adopting a draft):
 * `--yes` answers them, and without a terminal nothing is approved.
 *
 * @module
 */

/** How a command's questions are answered. */
export interface QuestionOptions {
  /** `--yes`: every question is answered yes without asking. */
  yes?: boolean;
  /** Whether a question can be asked (default: stdin and stderr are terminals). */
  interactive?: boolean;
  /** Reads the answer to a question (default: a line from stdin, the question on stderr). */
  ask?: (question: string) => Promise<string>;
}

/**
 * Whether questions can be asked at all: on a terminal, or with an `ask` given.
 *
 * @param options The command's options.
 * @returns True when a question would reach someone.
 */
export function canAsk(options: QuestionOptions): boolean {
  return options.interactive ?? (Deno.stdin.isTerminal() && Deno.stderr.isTerminal());
}

/**
 * Asks a yes/no question: yes with `--yes`, no when no one can be asked, else the answer read.
 *
 * @param question The question, ending in "[y/N] ".
 * @param options `--yes`, whether to ask, and how.
 * @returns Whether the answer was yes.
 *
 * @example
 * ```ts
 * import { askYesNo } from "./_question.ts";
 * console.log(await askYesNo("Go? [y/N] ", { interactive: true, ask: () => Promise.resolve("y") })); // true
 * ```
 */
export async function askYesNo(question: string, options: QuestionOptions): Promise<boolean> {
  if (options.yes) return true;
  if (!canAsk(options)) return false;
  const answer = await (options.ask ?? readAnswer)(question);
  return /^y(es)?$/i.test(answer.trim());
}

/** One line from stdin, after printing the question on stderr. */
async function readAnswer(question: string): Promise<string> {
  await Deno.stderr.write(new TextEncoder().encode(question));
  const buffer = new Uint8Array(1024);
  const n = await Deno.stdin.read(buffer);
  return n === null ? "" : new TextDecoder().decode(buffer.subarray(0, n)).split("\n")[0];
}
