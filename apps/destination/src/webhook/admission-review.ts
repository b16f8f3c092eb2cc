// The AdmissionReview envelope (admission.k8s.io v1 and v1beta1: one JSON shape; the answer echoes the request's
// apiVersion and uid). A validator sees only the request and says why it refuses it, or nothing.
import { BadAdmissionReviewError } from '../errors.ts';

export const ADMISSION_API_VERSIONS: readonly string[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind?: { readonly group?: string; readonly version?: string; readonly kind?: string };
  readonly namespace?: string;
  readonly name?: string;
  readonly operation?: string;
  readonly object?: unknown;
}

/** Why the request must be refused, or undefined to admit it. */
export type Validator = (req: AdmissionRequest) => string | undefined | Promise<string | undefined>;

export interface AdmissionReviewOut {
  readonly apiVersion: string;
  readonly kind: 'AdmissionReview';
  readonly response: { readonly uid: string; readonly allowed: boolean; readonly status?: { readonly code: number; readonly reason: string; readonly message: string } };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Decodes the envelope; anything that is not an answerable review is a BadAdmissionReviewError. */
export function decodeReview(body: unknown): { apiVersion: string; request: AdmissionRequest } {
  if (!isObj(body)) throw new BadAdmissionReviewError('body is not a JSON object');
  const apiVersion = body['apiVersion'];
  if (typeof apiVersion !== 'string' || !ADMISSION_API_VERSIONS.includes(apiVersion)) {
    throw new BadAdmissionReviewError(`apiVersion ${JSON.stringify(apiVersion)} is not one of ${ADMISSION_API_VERSIONS.join(', ')}`);
  }
  if (body['kind'] !== 'AdmissionReview') throw new BadAdmissionReviewError(`kind ${JSON.stringify(body['kind'])} is not AdmissionReview`);
  const request = body['request'];
  if (!isObj(request)) throw new BadAdmissionReviewError('AdmissionReview has no request');
  if (typeof request['uid'] !== 'string' || request['uid'] === '') throw new BadAdmissionReviewError('AdmissionReview request has no uid');
  if (request['kind'] !== undefined && !isObj(request['kind'])) throw new BadAdmissionReviewError('AdmissionReview request.kind is not an object');
  return { apiVersion, request: request as unknown as AdmissionRequest };
}

export function answer(apiVersion: string, uid: string, problem: string | undefined): AdmissionReviewOut {
  return {
    apiVersion,
    kind: 'AdmissionReview',
    response: problem === undefined ? { uid, allowed: true } : { uid, allowed: false, status: { code: 400, reason: 'Invalid', message: problem } },
  };
}
