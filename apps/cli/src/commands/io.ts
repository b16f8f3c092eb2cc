// What a command needs from the process, injectable so tests run commands in memory.
export interface CommandIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readStdin(): Promise<string>;
}
