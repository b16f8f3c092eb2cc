// One AdmissionReview (admission.k8s.io v1 or v1beta1) answered by the tap injector. A pod is never refused: the
// webhook only adds the tap identity, so a failure while answering lets the pod through unchanged, with a warning
// kubectl shows. Only a body that is not a review is an error (HTTP 400, its message naming what is wrong).
import { TrellisError } from '@trellis/config';
import { tapPatch, type SkipReason } from './patch.ts';

export const ADMISSION_API_VERSIONS: readonly string[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

export class BadReviewError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_BAD_ADMISSION_REVIEW', message);
  }
}

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface ReviewOut {
  apiVersion: string;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type Outcome = 'injected' | SkipReason | 'not_a_pod' | 'error';

export interface ReviewDeps {
  /** The identity proxies let open taps, possibly with `$(_l5d_ns)` and `$(_l5d_trustdomain)` to fill in. */
  readonly tapServiceName: string;
  readonly namespaceAnnotations: (namespace: string) => Promise<Readonly<Record<string, string>>>;
  readonly onOutcome: (outcome: Outcome, detail: { namespace: string; pod: string; error?: string }) => void;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the envelope: anything that is not an AdmissionReview with a request and uid is a BadReviewError. */
export function decodeReview(body: unknown): { apiVersion: string; request: Obj & { uid: string } } {
  if (!isObj(body)) throw new BadReviewError('body is not a JSON object');
  const apiVersion = body['apiVersion'];
  if (typeof apiVersion !== 'string' || !ADMISSION_API_VERSIONS.includes(apiVersion)) throw new BadReviewError(`apiVersion ${JSON.stringify(apiVersion)} is not one of ${ADMISSION_API_VERSIONS.join(', ')}`);
  if (body['kind'] !== 'AdmissionReview') throw new BadReviewError(`kind ${JSON.stringify(body['kind'])} is not AdmissionReview`);
  const request = body['request'];
  if (!isObj(request)) throw new BadReviewError('AdmissionReview has no request');
  if (typeof request['uid'] !== 'string' || request['uid'] === '') throw new BadReviewError('AdmissionReview request has no uid');
  return { apiVersion, request: request as Obj & { uid: string } };
}

export async function answerReview(body: unknown, deps: ReviewDeps): Promise<ReviewOut> {
  const { apiVersion, request } = decodeReview(body);
  const out = (response: Omit<AdmissionResponse, 'uid' | 'allowed'> = {}): ReviewOut => ({ apiVersion, kind: 'AdmissionReview', response: { uid: request.uid, allowed: true, ...response } });
  const object = request['object'];
  const kind = isObj(request['kind']) ? request['kind']['kind'] : isObj(object) ? object['kind'] : undefined;
  const meta = isObj(object) && isObj(object['metadata']) ? object['metadata'] : {};
  const namespace = typeof request['namespace'] === 'string' && request['namespace'] ? request['namespace'] : String(meta['namespace'] ?? '');
  const pod = String(meta['name'] ?? meta['generateName'] ?? '');
  if (kind !== 'Pod' || !isObj(object)) {
    deps.onOutcome('not_a_pod', { namespace, pod });
    return out();
  }
  try {
    const result = tapPatch(object, { tapServiceName: deps.tapServiceName, namespaceAnnotations: namespace ? await deps.namespaceAnnotations(namespace) : {} });
    deps.onOutcome(result.skipped ?? 'injected', { namespace, pod });
    if (result.ops.length === 0) return out();
    return out({ patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(result.ops)).toString('base64') });
  } catch (err) {
    const error = (err as Error).message;
    deps.onOutcome('error', { namespace, pod, error });
    return out({ warnings: [`trellis tap injector: pod admitted without the tap identity (trellis viz tap cannot tap it): ${error}`] });
  }
}
