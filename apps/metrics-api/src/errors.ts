// The API's errors, each with a stable code and the HTTP status it maps to (http/errors.ts writes them).
import { TrellisError } from '@trellis/config';

/** A request parameter is missing or malformed: 400, naming the parameter and the value. */
export class BadRequestError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_BAD_REQUEST', message);
  }
}

/** The named Kubernetes object does not exist: 404. */
export class NotFoundError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_NOT_FOUND', message);
  }
}

/** Prometheus did not answer (refused, reset, timed out, DNS): 503, naming its URL. */
export class PrometheusUnreachableError extends TrellisError {
  constructor(url: string, why: string, cause?: unknown) {
    super('TRELLIS_ERR_PROMETHEUS_UNREACHABLE', `Prometheus at ${url} is unreachable: ${why}`, { cause });
  }
}

/** Prometheus answered, but not with a result (an error status, a body that is not its API's JSON): 502. */
export class PrometheusQueryError extends TrellisError {
  constructor(url: string, why: string) {
    super('TRELLIS_ERR_PROMETHEUS_QUERY', `Prometheus at ${url} failed the query: ${why}`);
  }
}

/** The Kubernetes API did not answer or refused us: 503. */
export class KubernetesUnavailableError extends TrellisError {
  constructor(why: string, cause?: unknown) {
    super('TRELLIS_ERR_KUBERNETES_UNAVAILABLE', `the Kubernetes API failed: ${why}`, { cause });
  }
}
