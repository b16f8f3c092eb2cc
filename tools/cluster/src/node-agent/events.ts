// Pod events as a kubelet records them (Started, Killing, BackOff, Unhealthy, Failed), so `kubectl describe pod`
// and `kubectl get events` show what the node did. Best effort: a failed post is dropped, repeats are counted.
import type { KObject, Kube } from './kube.ts';
import { NODE_EVENT_SOURCE } from './names.ts';

export type EventType = 'Normal' | 'Warning';

export class PodEvents {
  readonly #kube: Kube;
  readonly #pod: KObject;
  readonly #seen = new Map<string, { name: string; count: number }>();

  constructor(kube: Kube, pod: KObject) {
    this.#kube = kube;
    this.#pod = pod;
  }

  /** Records an event about the pod (or one of its containers); the same reason and message again bumps the count. */
  record(type: EventType, reason: string, message: string, container?: string): void {
    const m = this.#pod['metadata'];
    const ns = String(m['namespace']);
    const key = `${reason}\n${message}\n${container ?? ''}`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const prev = this.#seen.get(key);
    if (prev) {
      prev.count++;
      void this.#kube.mergePatch(`/api/v1/namespaces/${ns}/events/${prev.name}`, { count: prev.count, lastTimestamp: now }).catch(() => undefined);
      return;
    }
    const name = `${m['name']}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
    this.#seen.set(key, { name, count: 1 });
    const involved: KObject = { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: m['name'], uid: m['uid'] };
    if (container) involved['fieldPath'] = `spec.containers{${container}}`;
    void this.#kube
      .call('POST', `/api/v1/namespaces/${ns}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: involved,
        type,
        reason,
        message,
        source: NODE_EVENT_SOURCE,
        reportingComponent: 'kubelet',
        reportingInstance: NODE_EVENT_SOURCE.host,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
      .catch(() => undefined);
  }
}
