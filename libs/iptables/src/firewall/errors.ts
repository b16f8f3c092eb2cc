// proxy-init's failures after configuration was accepted; each says what failed and why, and exits non-zero.
import { TrellisError } from '@trellis/config';

export class FirewallError extends TrellisError {}

/** No iptables binaries of the requested kind, nor any fallback, were found. */
export const binaryMissing = (message: string) => new FirewallError('TRELLIS_ERR_FIREWALL_BINARY', message);
/** A helper command (iptables-save, sysctl) failed. */
export const commandFailed = (message: string) => new FirewallError('TRELLIS_ERR_FIREWALL_COMMAND', message);
/** iptables-restore rejected the transaction; nothing of it was written. */
export const restoreRejected = (message: string) => new FirewallError('TRELLIS_ERR_FIREWALL_RESTORE', message);
