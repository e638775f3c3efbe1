/**
 * The error every refused grant or wrong parameter is reported with.
 *
 * @module
 */

/**
 * Thrown when a grant is refused or a parameter is wrong; `field` names the manifest field or
 * parameter at fault.
 *
 * @example
 * ```ts
 * import { GrantError } from "./grant_error.ts";
 * const error = new GrantError("-p dirs", "Parameter \"dirs\" is an empty path");
 * console.log(error.field, error.name); // "-p dirs" "GrantError"
 * ```
 */
export class GrantError extends Error {
  /** The manifest field (`permissions.read[0]`) or parameter (`-p dirs`) at fault. */
  readonly field: string;
  /**
   * Creates the error for one refused grant or wrong parameter.
   *
   * @param field The field or parameter at fault.
   * @param message What is wrong and what to do.
   * @param options Standard error options.
   */
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GrantError";
    this.field = field;
  }
}
