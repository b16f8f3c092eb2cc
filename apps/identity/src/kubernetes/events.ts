// Kubernetes Events about identity's issuer (contracts §2.2 names: IssuerUpdated, IssuerValidationFailed),
// recorded on the identity Deployment so `kubectl describe deploy trellis-identity` shows them.
// Fire and forget: failing to record an Event is logged, never fatal.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface IdentityEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: 'IssuerUpdated' | 'IssuerValidationFailed';
  readonly message: string;
}

export interface EventRecorder {
  record(event: IdentityEvent): Promise<void>;
}

export interface InvolvedObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly apiVersion: string;
}

export class KubeEventRecorder implements EventRecorder {
  readonly #api: CoreV1Api;
  readonly #object: InvolvedObject;
  readonly #component: string;

  constructor(kc: KubeConfig, object: InvolvedObject, component = 'trellis-identity') {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#object = object;
    this.#component = component;
  }

  async record(e: IdentityEvent): Promise<void> {
    const now = new Date();
    await this.#api.createNamespacedEvent({
      namespace: this.#object.namespace,
      body: {
        metadata: { name: `${this.#object.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`, namespace: this.#object.namespace },
        involvedObject: { ...this.#object },
        type: e.type,
        reason: e.reason,
        message: e.message.slice(0, 1024),
        source: { component: this.#component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: this.#component,
      },
    });
  }
}
