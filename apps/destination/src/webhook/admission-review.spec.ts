import { describe, expect, it } from 'vitest';
import { answer, decodeReview } from './admission-review.ts';

const request = { uid: 'u-1', kind: { group: 'policy.linkerd.io', version: 'v1alpha1', kind: 'AuthorizationPolicy' }, operation: 'CREATE', object: {} };

describe('decodeReview', () => {
  it('reads v1 and v1beta1 reviews', () => {
    expect(decodeReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request })).toEqual({ apiVersion: 'admission.k8s.io/v1', request });
    expect(decodeReview({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request }).apiVersion).toBe('admission.k8s.io/v1beta1');
  });

  it.each([
    [[], 'body is not a JSON object'],
    [null, 'body is not a JSON object'],
    [{ apiVersion: 'v1', kind: 'AdmissionReview', request }, 'apiVersion "v1" is not one of admission.k8s.io/v1, admission.k8s.io/v1beta1'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request }, 'kind "Pod" is not AdmissionReview'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'AdmissionReview has no request'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, uid: '' } }, 'AdmissionReview request has no uid'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, kind: 'Server' } }, 'request.kind is not an object'],
  ])('refuses %j: %s', (body, message) => {
    expect(() => decodeReview(body)).toThrow(message);
  });
});

describe('answer', () => {
  it('echoes the apiVersion and uid, with the reason on a denial', () => {
    expect(answer('admission.k8s.io/v1beta1', 'u-1', undefined)).toEqual({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
    expect(answer('admission.k8s.io/v1', 'u-2', 'no')).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-2', allowed: false, status: { code: 400, reason: 'Invalid', message: 'no' } } });
  });
});
