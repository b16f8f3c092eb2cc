// CNI error results (spec 1.0, "Error"): the runtime shows `msg` in the pod's events, so each one names what is
// wrong. Codes 1-11 are the spec's; 100 and up are this plugin's own.
import { TrellisError } from '@trellis/config';

export const CNI_ERR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  containerUnknown: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** The API server answered, but not with the pod (forbidden, not found, malformed). */
  podLookup: 100,
  /** A pod's annotation or proxy setting cannot become a rule. */
  invalidPodSetting: 101,
  /** iptables refused or failed. */
  firewall: 102,
  /** CHECK: the pod's nat table is not what ADD wrote. */
  drift: 103,
} as const;

export class CniError extends TrellisError {
  readonly cniCode: number;
  readonly details: string | undefined;

  constructor(cniCode: number, msg: string, details?: string) {
    super(`TRELLIS_ERR_CNI_${cniCode}`, msg);
    this.cniCode = cniCode;
    this.details = details;
  }
}

/** The error result the runtime reads from stdout. */
export function errorResult(err: CniError, cniVersion: string): string {
  return JSON.stringify({ cniVersion, code: err.cniCode, msg: err.message, ...(err.details ? { details: err.details } : {}) });
}
