/**
 * The forms of a client entry (`deno`, `launcher`, `docker`) and the CLI's checks of them: which
 * form an option or isolation means, and the combinations refused as usage errors.
 *
 * @module
 */
import { UsageError } from "./context.ts";
import type { Isolation } from "../sandbox/create_sandbox.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { isContainerOnly } from "../policy/package_kind.ts";

/** A usage problem of a client option, which the CLI reports with exit code 2. */
export class ClientUsageError extends UsageError {
  /**
   * @param message What is wrong with the command line.
   */
  constructor(message: string) {
    super(message);
    this.name = "ClientUsageError";
  }
}

/** Said of a self-contained entry: the server starts without mcp-run, so without its guard. */
export const NO_PINS =
  "This entry starts the server without mcp-run's guard, so its tools are not " +
  "pinned: a changed or added tool reaches the client unchecked. The launcher form " +
  "(--form launcher) pins them (see mcp-run approve).";

/** The entry forms: `deno` and `docker` are self-contained, `launcher` calls mcp-run. */
export const FORMS = ["deno", "launcher", "docker"] as const;

/** An entry form. */
export type Form = typeof FORMS[number];

/**
 * The `--form` option, checked.
 *
 * @param given The option's value, if given.
 * @param fallback The form when it is not.
 * @returns The form.
 * @throws {ClientUsageError} For an unknown form.
 * @example
 * ```ts ignore
 * formOption(undefined, "deno"); // "deno"
 * ```
 */
export function formOption(given: string | undefined, fallback: Form): Form {
  const form = given ?? fallback;
  if (!(FORMS as readonly string[]).includes(form)) {
    throw new ClientUsageError(`--form must be deno, launcher or docker, got "${form}"`);
  }
  return form as Form;
}

/**
 * Only the launcher form's entry runs the guard: the others cannot apply its options.
 *
 * @param form The entry's form.
 * @param guard The guard options given (`--tools`, `--exclude-tools`, `--scan`).
 * @throws {ClientUsageError} When guard options are given for another form.
 * @example
 * ```ts ignore
 * refuseUnguarded("deno", ["--tools"]); // throws
 * ```
 */
export function refuseUnguarded(form: Form, guard: string[] | undefined): void {
  if (form === "launcher" || !guard?.length) return;
  throw new ClientUsageError(
    `${guard[0]} needs --form launcher: a ${form} entry starts the server without ` +
      "mcp-run's guard between it and the client",
  );
}

/**
 * `--isolation gvisor` with `--form deno`: a deno-form entry runs the server natively, under
 * Deno's permissions on the host's kernel, which is weaker than what was asked. With gVisor only
 * the config file's default, `--form deno` is the user's choice: `note` says what it means.
 *
 * @param target The CLI's isolation, and whether it was given.
 * @param form The entry's form.
 * @param note Where the note goes for a deno-form entry under gVisor by default.
 * @throws {ClientUsageError} For a deno-form entry under a given `--isolation gvisor`.
 * @example
 * ```ts ignore
 * refuseNativeUnderGvisor({ isolation: "gvisor", isolationGiven: true }, "deno", log); // throws
 * ```
 */
export function refuseNativeUnderGvisor(
  target: { isolation: Isolation; isolationGiven?: boolean },
  form: Form,
  note: (line: string) => void,
): void {
  if (form !== "deno" || target.isolation !== "gvisor") return;
  if (!target.isolationGiven) {
    note(
      "mcp-run: --form deno: this entry runs the server natively, under Deno's permissions on " +
        "the host's kernel, not under gVisor (the config file's default isolation)",
    );
    return;
  }
  throw new ClientUsageError(
    "--form deno runs the server natively on the host's kernel, not under gVisor as " +
      "--isolation gvisor asks: leave out --form deno (the entry then runs it under gVisor), " +
      "or leave out --isolation gvisor for a native entry",
  );
}

/**
 * The entry form of an isolation: a gVisor container is written in the docker form.
 *
 * @param isolation The isolation (or `launcher`).
 * @returns The form.
 * @example
 * ```ts ignore
 * formOf("gvisor"); // "docker"
 * ```
 */
export function formOf(isolation: Isolation | "launcher"): Form {
  return isolation === "gvisor" ? "docker" : isolation;
}

/**
 * A `pypi:` or `oci:` server has no deno form: it runs only in a container.
 *
 * @param form The entry's form.
 * @param server The server.
 * @param fix What to do instead, for the message.
 * @throws {ClientUsageError} For a deno-form entry of a container-only package.
 * @example
 * ```ts ignore
 * refuseDenoForm("deno", pypiServer, "use --form docker"); // throws
 * ```
 */
export function refuseDenoForm(form: Form, server: ResolvedServer, fix: string): void {
  if (form !== "deno" || !isContainerOnly(server.specifier)) return;
  throw new ClientUsageError(
    `"${server.name}" (${server.specifier}) runs only in a container: ${fix}`,
  );
}
