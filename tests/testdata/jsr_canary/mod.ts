/**
 * Test fixture published to the test JSR registry: writes "honest" to the file named by its
 * first argument. The tampered copy the registry serves writes "pwned" instead.
 *
 * @module
 */
if (import.meta.main) Deno.writeTextFileSync(Deno.args[0], "honest");
