// identity's Prometheus metrics, registered on the process registry main.ts creates.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CertificateAuthority } from '@trellis/pki';

export class IdentityMetrics {
  /** Certify calls by result: "ok" or the gRPC status name in snake case (invalid_argument, ...). */
  readonly certify: Counter<'result'>;
  readonly certifyDuration: Histogram<'result'>;
  readonly issuerExpiry: Gauge;
  readonly trustAnchorsExpiry: Gauge;
  readonly issuerReloads: Counter<'result'>;
  readonly #issuerNotAfter: { value?: number } = {};

  constructor(registry: Registry) {
    const registers = [registry];
    this.certify = new Counter({ name: 'identity_certify_total', help: 'Certify calls by result (ok, or the gRPC status name)', labelNames: ['result'], registers });
    this.certifyDuration = new Histogram({
      name: 'identity_certify_duration_seconds',
      help: 'Certify latency, including the TokenReview',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.issuerExpiry = new Gauge({ name: 'identity_issuer_expiry_timestamp_seconds', help: 'NotAfter of the issuer chain in use (earliest on the path to the anchor), Unix seconds', registers });
    this.trustAnchorsExpiry = new Gauge({ name: 'identity_trust_anchors_expiry_timestamp_seconds', help: 'Earliest NotAfter among the trust anchors in use, Unix seconds', registers });
    this.issuerReloads = new Counter({ name: 'identity_issuer_reloads_total', help: 'Issuer candidates read from disk, by result (accepted, refused)', labelNames: ['result'], registers });
    // Linkerd's name for the same fact, so existing dashboards and alerts keep working.
    const notAfter = this.#issuerNotAfter;
    new Gauge({
      name: 'issuer_cert_ttl_seconds',
      help: 'Seconds until the issuer certificate in use expires',
      registers,
      collect() {
        if (notAfter.value !== undefined) this.set(Math.max(0, Math.round((notAfter.value - Date.now()) / 1000)));
      },
    });
    for (const result of ['ok']) this.certify.labels(result);
    for (const result of ['accepted', 'refused']) this.issuerReloads.labels(result);
  }

  issuerLoaded(ca: CertificateAuthority): void {
    this.#issuerNotAfter.value = ca.notAfter.getTime();
    this.issuerExpiry.set(ca.notAfter.getTime() / 1000);
    this.trustAnchorsExpiry.set(ca.trustAnchorsNotAfter.getTime() / 1000);
  }
}
