// Where a command writes and what environment it reads: handed to every subcommand, so tests can capture it.
import type { Out } from "./report/out.js";

/** The output descriptors and environment of one CLI run. */
export interface Io {
  stdout: Out;
  stderr: Out;
  env: NodeJS.ProcessEnv;
}
