// Pod status as the kubelet reports it, computed from what the agent knows about each container.
import type { KObject } from './kube.ts';

export type ContainerState =
  | { readonly waiting: { readonly reason: string; readonly message?: string } }
  | { readonly running: { readonly startedAt: string } }
  | { readonly terminated: { readonly exitCode: number; readonly signal?: number; readonly reason: string; readonly startedAt: string; readonly finishedAt: string; readonly message?: string } };

export interface ContainerView {
  readonly name: string;
  readonly image: string;
  readonly kind: 'init' | 'sidecar' | 'regular';
  readonly state: ContainerState;
  readonly lastState: ContainerState | undefined;
  readonly ready: boolean;
  readonly started: boolean;
  readonly restartCount: number;
  /** True when the container has stopped for good (no restart will follow). */
  readonly done: boolean;
  readonly containerID: string | undefined;
}

export interface PodView {
  readonly podIP: string | undefined;
  readonly hostIP: string;
  readonly startTime: string;
  readonly sandboxReady: boolean;
  readonly initialized: boolean;
  readonly initFailed: boolean;
  readonly containers: readonly ContainerView[];
}

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export function podPhase(v: PodView): Phase {
  if (v.initFailed) return 'Failed';
  if (!v.initialized) return 'Pending';
  const regular = v.containers.filter((c) => c.kind === 'regular');
  if (regular.length > 0 && regular.every((c) => c.done)) {
    return regular.every((c) => 'terminated' in c.state && c.state.terminated.exitCode === 0) ? 'Succeeded' : 'Failed';
  }
  if (regular.some((c) => 'running' in c.state || 'terminated' in c.state || c.restartCount > 0)) return 'Running';
  return 'Pending';
}

function containerStatus(c: ContainerView): KObject {
  return {
    name: c.name,
    image: c.image,
    imageID: `trellis-local://${c.image}`,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastState ?? {},
  };
}

/** Tracks condition transition times across reports. */
export class Conditions {
  readonly #seen = new Map<string, { status: string; time: string }>();

  set(type: string, status: boolean, now: string, reason?: string): KObject {
    const s = status ? 'True' : 'False';
    const prev = this.#seen.get(type);
    const time = prev && prev.status === s ? prev.time : now;
    this.#seen.set(type, { status: s, time });
    return { type, status: s, lastProbeTime: null, lastTransitionTime: time, ...(reason && !status ? { reason } : {}) };
  }
}

/** The pod's status subresource body (conditions merge by type with the scheduler's PodScheduled). */
export function podStatus(v: PodView, conditions: Conditions, now: string): KObject {
  const regular = v.containers.filter((c) => c.kind === 'regular');
  const sidecars = v.containers.filter((c) => c.kind === 'sidecar');
  const containersReady = regular.length > 0 && [...regular, ...sidecars].every((c) => c.ready);
  const notReady = [...regular, ...sidecars].filter((c) => !c.ready).map((c) => c.name);
  const phase = podPhase(v);
  const status: KObject = {
    phase,
    conditions: [
      conditions.set('PodReadyToStartContainers', v.sandboxReady, now),
      conditions.set('Initialized', v.initialized, now, 'ContainersNotInitialized'),
      conditions.set('ContainersReady', containersReady, now, 'ContainersNotReady'),
      conditions.set('Ready', containersReady, now, 'ContainersNotReady'),
    ],
    hostIP: v.hostIP,
    hostIPs: [{ ip: v.hostIP }],
    startTime: v.startTime,
    initContainerStatuses: v.containers.filter((c) => c.kind !== 'regular').map(containerStatus),
    containerStatuses: regular.map(containerStatus),
  };
  if (!containersReady && notReady.length > 0) {
    const cr = status['conditions'][2] as KObject;
    cr['message'] = `containers with unready status: [${notReady.join(' ')}]`;
    (status['conditions'][3] as KObject)['message'] = cr['message'];
  }
  if (v.podIP) {
    status['podIP'] = v.podIP;
    status['podIPs'] = [{ ip: v.podIP }];
  }
  return status;
}
