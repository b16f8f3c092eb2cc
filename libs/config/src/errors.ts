// Errors with stable codes. Each boundary (gRPC, HTTP, admission, CLI) maps them to its wire form in one place.
export class TrellisError extends Error {
  readonly code: string;
  constructor(code: `TRELLIS_ERR_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Invalid configuration: the message names the flag or variable and the offending value. */
export class ConfigError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_CONFIG', message);
  }
}

/** A malformed command line (an unknown flag, a flag without its value, a stray argument): exit code 2 in CLIs. */
export class UsageError extends ConfigError {
  override readonly code = 'TRELLIS_ERR_USAGE';
}
