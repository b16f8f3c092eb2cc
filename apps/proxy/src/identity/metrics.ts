// Identity's metrics under both names the spec lists (docs/reference/linkerd-proxy.md §6 "Identity certificate"): the
// documented identity_cert_* families and the control_identity_cert_* ones the current proxy exports.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface IdentityMetrics {
  certified(expiry: Date, at: Date): void;
  failed(): void;
}

export function identityMetrics(registry: Registry): IdentityMetrics {
  const registers = [registry];
  const expiry = new Gauge({ name: 'identity_cert_expiration_timestamp_seconds', help: 'Time when this proxy\'s current certificate expires (seconds since the epoch).', registers });
  const controlExpiry = new Gauge({ name: 'control_identity_cert_expiration_timestamp_seconds', help: 'Time when this proxy\'s current certificate expires (seconds since the epoch).', registers });
  const refreshCount = new Counter({ name: 'identity_cert_refresh_count', help: 'The total number of times this proxy\'s certificate has been refreshed.', registers });
  const refreshedAt = new Gauge({ name: 'control_identity_cert_refresh_timestamp_seconds', help: 'Time of the last successful certificate refresh (seconds since the epoch).', registers });
  const refreshes = new Counter({ name: 'control_identity_cert_refreshes_total', help: 'Certificate refreshes by result.', labelNames: ['result'] as const, registers });
  const ok = refreshes.labels('ok');
  const error = refreshes.labels('error');
  return {
    certified(e, at) {
      expiry.set(e.getTime() / 1000);
      controlExpiry.set(e.getTime() / 1000);
      refreshedAt.set(at.getTime() / 1000);
      refreshCount.inc();
      ok.inc();
    },
    failed() {
      error.inc();
    },
  };
}
