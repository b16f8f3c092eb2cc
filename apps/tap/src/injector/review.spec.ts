import { describe, expect, it } from 'vitest';
import { answerReview, type Outcome } from './review.ts';

const outcomes: Outcome[] = [];
const deps = (annotations: () => Promise<Record<string, string>>) => ({ tapServiceName: 'tap.v.serviceaccount.identity.t.cluster.local', namespaceAnnotations: annotations, onOutcome: (o: Outcome) => outcomes.push(o) });
const review = (object: unknown, apiVersion = 'admission.k8s.io/v1') => ({ apiVersion, kind: 'AdmissionReview', request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'emojivoto', operation: 'CREATE', object } });
const meshed = { metadata: { name: 'web' }, spec: { containers: [{ name: 'linkerd-proxy' }] } };

describe('tap injector review', () => {
  it('answers with a base64 JSON patch, echoing the apiVersion and uid', async () => {
    const out = await answerReview(review(meshed, 'admission.k8s.io/v1beta1'), deps(async () => ({})));
    expect(out).toMatchObject({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', response: { uid: 'u1', allowed: true, patchType: 'JSONPatch' } });
    expect(JSON.parse(Buffer.from(out.response.patch ?? '', 'base64').toString())).toHaveLength(2);
  });

  it('admits the pod unchanged, with a warning, when the namespace cannot be read', async () => {
    const out = await answerReview(review(meshed), deps(async () => Promise.reject(new Error('namespaces "emojivoto" is forbidden'))));
    expect(out.response).toEqual({ uid: 'u1', allowed: true, warnings: ['trellis tap injector: pod admitted without the tap identity (trellis viz tap cannot tap it): namespaces "emojivoto" is forbidden'] });
    expect(outcomes.at(-1)).toBe('error');
  });

  it('refuses what is not a review, naming the problem', async () => {
    await expect(answerReview([], deps(async () => ({})))).rejects.toThrow('body is not a JSON object');
    await expect(answerReview({ apiVersion: 'v1', kind: 'AdmissionReview' }, deps(async () => ({})))).rejects.toThrow('apiVersion "v1" is not one of admission.k8s.io/v1, admission.k8s.io/v1beta1');
    await expect(answerReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }, deps(async () => ({})))).rejects.toThrow('AdmissionReview request has no uid');
  });
});
