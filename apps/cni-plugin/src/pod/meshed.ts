// Which pods the plugin writes rules for: those the injector meshed in CNI mode, that is with a linkerd-proxy
// container (a native sidecar among the init containers, or a plain container) and no linkerd-init, which would
// write the rules itself. Pure.

export interface ContainerView {
  readonly name?: string;
  readonly env?: readonly { readonly name?: string; readonly value?: string }[];
  readonly securityContext?: { readonly runAsUser?: number; readonly runAsGroup?: number };
}

export interface PodView {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec?: { readonly containers?: readonly ContainerView[]; readonly initContainers?: readonly ContainerView[] };
}

export const PROXY_CONTAINER = 'linkerd-proxy';
export const INIT_CONTAINER = 'linkerd-init';

export function proxyContainer(pod: PodView): ContainerView | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === PROXY_CONTAINER);
}

export type MeshDecision = { readonly meshed: true } | { readonly meshed: false; readonly reason: string };

export function meshDecision(pod: PodView): MeshDecision {
  if (!proxyContainer(pod)) return { meshed: false, reason: `no ${PROXY_CONTAINER} container: not meshed` };
  if ((pod.spec?.initContainers ?? []).some((c) => c.name === INIT_CONTAINER)) {
    return { meshed: false, reason: `${INIT_CONTAINER} is among the init containers and writes the rules itself` };
  }
  return { meshed: true };
}
