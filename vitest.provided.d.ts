// Values the vitest global setup (tools/cluster/src/vitest-global-setup.ts) provides to cluster tests.
import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the local kube-apiserver. */
    kubeconfig: string;
    /** State directory of that cluster (certificates, logs, state.json). */
    clusterDir: string;
  }
}
