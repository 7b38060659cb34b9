// Errors of the sense step that callers tell apart by class (each maps to an exit code in cli.ts).

/** The gateway could not be found or read: exit code 3. */
export class GatewayNotFoundError extends Error {
  override readonly name = "GatewayNotFoundError";
}
