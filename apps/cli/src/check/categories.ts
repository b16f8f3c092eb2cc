// Which categories a `trellis check` run goes through, in Linkerd's order.
import { dataPlaneAnnotationChecks } from './annotations.ts';
import { cniPlugin, preKubernetesCapability } from './cni.ts';
import type { CheckContext } from './context.ts';
import { controlPlaneVersion, trellisConfig, trellisCrd, trellisExistence, trellisHa } from './control-plane.ts';
import { trellisIdentity, trellisIdentityDataPlane, trellisWebhooks } from './identity.ts';
import { kubernetesApi, kubernetesVersion, preKubernetesSetup } from './kubernetes.ts';
import type { Category } from './model.ts';
import { clusterNetworkChecks } from './networks.ts';
import { policyValidatorChecks } from './policy-validator.ts';
import { controlPlaneProxy, trellisDataPlane } from './proxies.ts';

export interface Selection {
  /** --pre: only what an install needs. */
  readonly pre: boolean;
  /** --crds: only the CRDs. */
  readonly crds: boolean;
  /** --proxy: the data plane too. */
  readonly proxy: boolean;
  /** --cni-enabled: the CNI plugin writes the redirects, so --pre checks it instead of linkerd-init's capabilities. */
  readonly cniEnabled?: boolean;
}

/** A category with more checks after its own (kept in files of their own, by concern). */
const extend = (c: Category<CheckContext>, more: Category<CheckContext>['checks']): Category<CheckContext> => ({ ...c, checks: [...c.checks, ...more] });

export function categoriesFor(s: Selection): Category<CheckContext>[] {
  const base = [kubernetesApi, kubernetesVersion];
  if (s.pre) return [...base, preKubernetesSetup, s.cniEnabled ? cniPlugin : preKubernetesCapability];
  if (s.crds) return [...base, trellisCrd];
  return [
    ...base,
    trellisCrd,
    extend(trellisExistence, clusterNetworkChecks),
    trellisConfig,
    // Decided by the install's cniEnabled (or --cni-enabled), read by trellisConfig.
    cniPlugin,
    trellisIdentity,
    // Linkerd lists the policy-validator's certificate with the other webhooks'.
    extend(trellisWebhooks, policyValidatorChecks),
    trellisIdentityDataPlane,
    controlPlaneVersion,
    controlPlaneProxy,
    ...(s.proxy ? [extend(trellisDataPlane, dataPlaneAnnotationChecks)] : []),
    trellisHa,
  ];
}
