// Answers one AdmissionReview (admission.k8s.io v1 or v1beta1; same JSON shape, the response echoes the
// request's apiVersion). Pods and Services on CREATE are handed to @trellis/inject; everything else is allowed
// unchanged. See README.md for the answer to each kind of input.
import { inject, isPlainObject, SKIP_REASON_TEXT, type InjectResult, type NamespaceMeta, type Values } from '@trellis/inject';
import type { Logger } from '@trellis/telemetry';
import type { Cluster, OwnerRef } from '../kube/cluster.ts';
import { BadReviewError, failureResponse, type AdmissionResponse } from './errors.ts';
import type { InjectorMetrics } from './metrics.ts';

export const ADMISSION_API_VERSIONS: readonly string[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

export interface AdmissionReviewOut {
  apiVersion: string;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  operation?: string;
  dryRun?: boolean;
  object?: unknown;
}

export interface AdmissionDeps {
  readonly values: () => Values;
  readonly cluster: Cluster;
  readonly metrics: InjectorMetrics;
  readonly log: Logger;
  readonly controlPlaneNamespace: string;
}

/** Decodes the review envelope; anything that is not one is a BadReviewError (HTTP 400). */
export function decodeReview(body: unknown): { apiVersion: string; request: AdmissionRequest } {
  if (!isPlainObject(body)) throw new BadReviewError('body is not a JSON object');
  const apiVersion = body['apiVersion'];
  if (typeof apiVersion !== 'string' || !ADMISSION_API_VERSIONS.includes(apiVersion)) {
    throw new BadReviewError(`apiVersion ${JSON.stringify(apiVersion)} is not one of ${ADMISSION_API_VERSIONS.join(', ')}`);
  }
  if (body['kind'] !== 'AdmissionReview') throw new BadReviewError(`kind ${JSON.stringify(body['kind'])} is not AdmissionReview`);
  const request = body['request'];
  if (!isPlainObject(request)) throw new BadReviewError('AdmissionReview has no request');
  if (typeof request['uid'] !== 'string' || request['uid'] === '') throw new BadReviewError('AdmissionReview request has no uid');
  return { apiVersion, request: request as unknown as AdmissionRequest };
}

function controllerRef(object: unknown, namespace: string): OwnerRef | undefined {
  if (!isPlainObject(object) || !isPlainObject(object['metadata'])) return undefined;
  const refs = object['metadata']['ownerReferences'];
  if (!Array.isArray(refs)) return undefined;
  const ref = (refs.find((r) => isPlainObject(r) && r['controller'] === true) ?? refs[0]) as Record<string, unknown> | undefined;
  if (!isPlainObject(ref) || typeof ref['kind'] !== 'string' || typeof ref['name'] !== 'string') return undefined;
  return {
    apiVersion: String(ref['apiVersion'] ?? ''),
    kind: ref['kind'],
    name: ref['name'],
    ...(typeof ref['uid'] === 'string' ? { uid: ref['uid'] } : {}),
    namespace,
  };
}

export class AdmissionHandler {
  readonly #deps: AdmissionDeps;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
  }

  /** Answers a decoded body. Never throws for a decodable review: failures become allowed:false. */
  async review(body: unknown): Promise<AdmissionReviewOut> {
    const { apiVersion, request } = decodeReview(body);
    let response: AdmissionResponse;
    try {
      response = await this.#admit(request);
    } catch (err) {
      this.#deps.log.error({ uid: request.uid, err: err instanceof Error ? err.message : String(err) }, 'admission failed');
      response = failureResponse(request.uid, err);
    }
    return { apiVersion, kind: 'AdmissionReview', response };
  }

  async #admit(req: AdmissionRequest): Promise<AdmissionResponse> {
    const allow: AdmissionResponse = { uid: req.uid, allowed: true };
    const kind = req.kind?.kind ?? (isPlainObject(req.object) ? String(req.object['kind'] ?? '') : '');
    if ((req.operation !== undefined && req.operation !== 'CREATE') || (kind !== 'Pod' && kind !== 'Service') || !isPlainObject(req.object)) {
      return allow;
    }
    // The API server may omit kind/apiVersion inside request.object; the injector keys on them.
    const object: Record<string, unknown> = { ...req.object, kind, apiVersion: req.object['apiVersion'] ?? 'v1' };
    const meta = isPlainObject(object['metadata']) ? object['metadata'] : {};
    const nsName = req.namespace || (typeof meta['namespace'] === 'string' ? meta['namespace'] : '');
    const namespace: NamespaceMeta = (nsName ? await this.#deps.cluster.namespace(nsName) : undefined) ?? { name: nsName, annotations: {} };

    const direct = kind === 'Pod' ? controllerRef(object, nsName) : undefined;
    const owner = direct ? await this.#deps.cluster.topOwner(nsName, direct) : undefined;
    const result = inject({
      object,
      namespace,
      values: this.#deps.values(),
      origin: 'webhook',
      controlPlaneNamespace: this.#deps.controlPlaneNamespace,
      objectNamespace: nsName,
      ...(owner ? { owner: { kind: owner.kind.toLowerCase(), name: owner.name } } : {}),
    });

    const labels = {
      ownerKind: owner ? owner.kind.toLowerCase() : kind.toLowerCase(),
      namespace: nsName,
      annotationAt: result.annotationAt,
      podAnnotations: result.podAnnotations,
    };
    this.#deps.metrics.record(labels, result.reasons);
    if (kind === 'Pod') this.#report(req, result, owner);
    if (result.patch.length === 0) return allow;
    return { ...allow, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(result.patch)).toString('base64') };
  }

  #report(req: AdmissionRequest, result: InjectResult, owner: OwnerRef | undefined): void {
    const log = this.#deps.log;
    const subject = owner ? `${owner.kind.toLowerCase()}/${owner.name}` : `pod/${result.name}`;
    if (result.injected) log.info({ uid: req.uid, namespace: req.namespace, workload: subject }, 'injected');
    else log.debug({ uid: req.uid, namespace: req.namespace, workload: subject, reasons: result.reasons }, 'skipped');
    for (const w of result.warnings) log.warn({ namespace: req.namespace, workload: subject }, w);
    // Events go on the owner (a pod being created has no uid yet); dry runs leave no trace.
    if (!owner || req.dryRun) return;
    // Pods that were never asked to be meshed are the common case; an event for each would be noise.
    if (!result.injected && result.reasons.includes('injection_enable_annotation_absent')) return;
    this.#deps.cluster.recordEvent(
      result.injected
        ? { involved: owner, type: 'Normal', reason: 'Injected', message: 'Trellis sidecar proxy injected' }
        : {
            involved: owner,
            type: 'Normal',
            reason: 'InjectionSkipped',
            message: `Trellis sidecar proxy injection skipped: ${result.reasons.map((r) => SKIP_REASON_TEXT[r]).join('; ')}`,
          },
    );
  }
}
