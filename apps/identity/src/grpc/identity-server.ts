// gRPC face of identity: io.linkerd.proxy.identity.Identity/Certify over h2c (the identity pod's own proxy
// terminates mTLS in front of it, as in Linkerd). Decodes, calls CertifyService, maps errors with
// toGrpcStatus, and records the metric and one log line per call.
import { Server, ServerCredentials, status, type ServerInterceptor, type ServerUnaryCall, type sendUnaryData, type ServiceError } from '@grpc/grpc-js';
import { IdentityService, identity as pb, timestampFromDate } from '@trellis/proto';
import { sha256Fingerprint } from '@trellis/pki';
import type { Logger } from '@trellis/telemetry';
import { quote, type CertifyService } from '../certify/certify-service.ts';
import type { IdentityMetrics } from '../metrics.ts';
import { statusLabel, toGrpcStatus } from './status.ts';

/** Requests are a token (~1-2 KiB) and a CSR (~300 B); anything near this size is not a proxy. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Stands in for a message that did not decode (grpc-js treats a falsy message as no message at all). */
const UNDECODABLE = Object.freeze({ undecodable: true as const });
type DecodedRequest = pb.CertifyRequest | typeof UNDECODABLE;

// The generated definition, except that undecodable bytes reach the handler and get InvalidArgument,
// instead of grpc-js answering Internal on a deserializer exception.
const DEFINITION = {
  certify: {
    ...IdentityService.certify,
    requestDeserialize: (b: Buffer): DecodedRequest => {
      try {
        return pb.CertifyRequest.decode(b);
      } catch {
        return UNDECODABLE;
      }
    },
  },
};

export interface IdentityGrpcServerOptions {
  readonly service: CertifyService;
  readonly metrics: IdentityMetrics;
  readonly log: Logger;
  /** Server interceptors (the tracing one, when a collector is configured). */
  readonly interceptors?: readonly ServerInterceptor[];
}

export class IdentityGrpcServer {
  readonly #server: Server;
  readonly #o: IdentityGrpcServerOptions;

  constructor(opts: IdentityGrpcServerOptions) {
    this.#o = opts;
    this.#server = new Server({
      'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
      'grpc.max_send_message_length': MAX_REQUEST_BYTES,
      // Channelz bookkeeping costs on every call and nothing here reads it.
      'grpc.enable_channelz': 0,
      ...(opts.interceptors ? { interceptors: [...opts.interceptors] } : {}),
    });
    this.#server.addService(DEFINITION, { certify: (call: ServerUnaryCall<DecodedRequest, pb.CertifyResponse>, cb: sendUnaryData<pb.CertifyResponse>) => this.#certify(call, cb) });
  }

  /** Binds `host:port` (port 0 picks one) and resolves to the bound port. */
  listen(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  /**
   * Stops accepting calls and waits for in-flight ones to finish; after `graceMs` cancels what is left.
   * Resolves true when everything drained in time.
   */
  shutdown(graceMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve(false);
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #certify(call: ServerUnaryCall<DecodedRequest, pb.CertifyResponse>, cb: sendUnaryData<pb.CertifyResponse>): void {
    const started = performance.now();
    const { metrics, log, service } = this.#o;
    const finish = (result: string) => {
      metrics.certify.labels(result).inc();
      metrics.certifyDuration.labels(result).observe((performance.now() - started) / 1000);
    };
    const req = call.request;
    if ('undecodable' in req) {
      finish(statusLabel(status.INVALID_ARGUMENT));
      log.info({ code: 'INVALID_ARGUMENT' }, 'refused certify: request is not a CertifyRequest message');
      cb({ code: status.INVALID_ARGUMENT, details: 'request is not a valid CertifyRequest message' } as ServiceError);
      return;
    }
    service.certify({ identity: req.identity, token: req.token, csr: req.certificateSigningRequest }).then(
      (r) => {
        finish('ok');
        log.info(
          { identity: req.identity, notAfter: r.validUntil.toISOString(), serial: r.serial, sha256: sha256Fingerprint(r.leaf) },
          'issued certificate',
        );
        cb(null, {
          leafCertificate: Buffer.from(r.leaf),
          intermediateCertificates: r.chain.map((c) => Buffer.from(c)),
          validUntil: timestampFromDate(r.validUntil),
        });
      },
      (err: unknown) => {
        const s = toGrpcStatus(err);
        const name = status[s.code] ?? 'UNKNOWN';
        finish(statusLabel(s.code));
        if (s.internal) log.warn({ identity: quote(req.identity), code: name, err: { message: (err as Error).message, code: (err as { code?: unknown }).code } }, 'certify failed');
        else log.info({ identity: quote(req.identity), code: name, reason: s.details }, 'refused certify');
        cb({ code: s.code, details: s.details } as ServiceError);
      },
    );
  }
}
