// What a command needs from the process, injectable so tests run commands in memory.
export interface CommandIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readStdin(): Promise<string>;
  /** stdout is a terminal: colour (unless NO_COLOR) and live progress lines. */
  readonly stdoutIsTTY?: boolean;
}
