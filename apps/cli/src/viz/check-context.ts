// What every viz check reads: the cluster, the CLI's version, where viz and the data plane are.
import type { KubeConfig } from '@kubernetes/client-node';

export interface VizCheckContext {
  readonly kc: KubeConfig;
  readonly cliVersion: string;
  /** With --proxy: the data plane's namespace, or undefined for all. */
  readonly dataPlaneNamespace?: string;
  readonly metricsApiUrl?: string;
  /** Where the extension is installed (trellis-viz). */
  readonly vizNamespace: string;
  readonly now?: () => Date;
}
