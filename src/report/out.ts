// Report output: text written straight to a file descriptor, instead of through process.stdout/stderr.
//
// Why: the first touch of process.stdout builds a stream (for a pipe, a net.Socket), loading net,
// stream and tty: 3-4 ms of every run, measured against a 61 ms `node -e 0`. On Linux Node writes to
// pipes, files and terminals synchronously anyway, so writing with writeSync changes no ordering.
import { fstatSync, writeSync } from "node:fs";
import { tty } from "../lazy.js";
import { errorCode } from "../proc/read.js";

/** Where report text goes. process.stdout fits it; so does FdOut, and a test's sink. */
export interface Out {
  write(text: string): unknown;
  /** A terminal: colour and progress only then. */
  readonly isTTY?: boolean;
  /** The descriptor behind it, when there is one (the journald check compares it). */
  readonly fd?: number;
}

function isCharacterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

/** Sleeps the thread briefly without a timer: a non-blocking pipe that is full has to drain first. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes to one descriptor. A reader that went away (EPIPE: `mcp-reaper ... | head`) is not an error:
 * the rest is dropped and the run finishes as it would have. Any other failure (ENOSPC, EIO, a closed
 * descriptor) also drops the rest, and is kept in `failure` for the caller to report once.
 */
export class FdOut implements Out {
  /** The first write error other than EPIPE, as its code; null while every write went through. */
  failure: string | null = null;
  private closed = false;
  private tty: boolean | undefined;

  constructor(readonly fd: number) {}

  get isTTY(): boolean {
    // Only a character device can be a terminal: pipes, files and sockets are told apart without
    // loading node:tty.
    this.tty ??= isCharacterDevice(this.fd) && tty().isatty(this.fd);
    return this.tty;
  }

  write(text: string): boolean {
    if (this.closed) return false;
    const bytes = Buffer.from(text, "utf8");
    for (let done = 0; done < bytes.length; ) {
      try {
        done += writeSync(this.fd, bytes, done);
      } catch (err) {
        const code = errorCode(err) ?? String(err);
        if (code === "EAGAIN") {
          Atomics.wait(pause, 0, 0, 5);
          continue;
        }
        this.closed = true;
        if (code !== "EPIPE") this.failure = code;
        return false;
      }
    }
    return true;
  }
}
