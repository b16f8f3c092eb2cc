// Finding an injected pod's proxy: it is an init container when it runs as a native sidecar, a container otherwise,
// so both lists are searched, in the spec and in the status alike.
import { PROXY_CONTAINER } from './containers.ts';

interface Named {
  readonly name: string;
}

/** The pod spec's linkerd-proxy container, if it has one. */
export function proxyContainer<C extends Named>(spec: { readonly initContainers?: readonly C[]; readonly containers?: readonly C[] } | undefined): C | undefined {
  return spec?.initContainers?.find((c) => c.name === PROXY_CONTAINER) ?? spec?.containers?.find((c) => c.name === PROXY_CONTAINER);
}

/** The pod status's entry for its linkerd-proxy container, if it reports one. */
export function proxyContainerStatus<S extends Named>(status: { readonly initContainerStatuses?: readonly S[]; readonly containerStatuses?: readonly S[] } | undefined): S | undefined {
  return status?.initContainerStatuses?.find((c) => c.name === PROXY_CONTAINER) ?? status?.containerStatuses?.find((c) => c.name === PROXY_CONTAINER);
}
