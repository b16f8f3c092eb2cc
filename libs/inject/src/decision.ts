// Whether a pod gets the proxy (contracts §5.2). Reason names are Linkerd's: they are the `skip_reason` metric label values.
import { INJECT, INJECT_DISABLED, INJECT_ENABLED, INJECT_INGRESS, INJECT_VALUES } from './annotations.ts';
import type { Values } from './values.ts';
import { containersOf, initContainersOf, type PodSpec } from './workload.ts';

export type SkipReason =
  | 'unsupported_resource'
  | 'host_network_enabled'
  | 'sidecar_already_exists'
  | 'injection_disable_annotation_present'
  | 'injection_enable_annotation_absent'
  | 'invalid_inject_annotation_at_ns'
  | 'invalid_inject_annotation_at_workload'
  | 'disabled_automount_service_account_token_account';

/** Human text for each reason: the CLI prints it and the InjectionSkipped event carries it. */
export const SKIP_REASON_TEXT: Readonly<Record<SkipReason, string>> = {
  unsupported_resource: 'this kind of object has no pod template',
  host_network_enabled: 'pods using the host network (hostNetwork: true) are not injected',
  sidecar_already_exists: 'the pod already has a proxy or proxy-init sidecar',
  injection_disable_annotation_present: `the ${INJECT}: ${INJECT_DISABLED} annotation is present`,
  injection_enable_annotation_absent: `neither the workload nor its namespace has the ${INJECT}: ${INJECT_ENABLED} annotation`,
  invalid_inject_annotation_at_ns: `the namespace's ${INJECT} annotation is not one of ${INJECT_VALUES.join(', ')}`,
  invalid_inject_annotation_at_workload: `the workload's ${INJECT} annotation is not one of ${INJECT_VALUES.join(', ')}`,
  disabled_automount_service_account_token_account:
    'automountServiceAccountToken is false and service account token projection is disabled',
};

export type Origin = 'webhook' | 'cli';

export interface Decision {
  readonly inject: boolean;
  readonly reasons: readonly SkipReason[];
  /** Where the deciding linkerd.io/inject annotation was found: the `annotation_at` metric label. */
  readonly annotationAt: 'workload' | 'namespace' | '';
  /** linkerd.io/inject resolved for the pod: ingress mode turns on LINKERD2_PROXY_INGRESS_MODE. */
  readonly mode: 'enabled' | 'ingress' | '';
}

const PROXY_NAMES = new Set(['linkerd-proxy', 'istio-proxy']);
const INIT_NAMES = new Set(['linkerd-init', 'istio-init', 'linkerd-network-validator']);
const PROXY_IMAGE_PREFIXES = ['cr.l5d.io/linkerd/proxy:', 'gcr.io/istio-release/proxyv2:'];
const INIT_IMAGE_PREFIXES = ['cr.l5d.io/linkerd/proxy-init:', 'gcr.io/istio-release/proxy_init:'];

export function hasSidecar(spec: PodSpec, values: Values): boolean {
  const proxyPrefixes = [...PROXY_IMAGE_PREFIXES, `${values.proxy.image.name}:`];
  const initPrefixes = [...INIT_IMAGE_PREFIXES, `${values.proxyInit.image.name}:`];
  const isProxy = (name: string, image: string) => PROXY_NAMES.has(name) || proxyPrefixes.some((p) => image.startsWith(p));
  const isInit = (name: string, image: string) => INIT_NAMES.has(name) || initPrefixes.some((p) => image.startsWith(p));
  // A native-sidecar proxy sits among the init containers, so both lists are searched for both.
  return [...containersOf(spec), ...initContainersOf(spec)].some((ct) => {
    const name = String(ct.name ?? '');
    const image = String(ct.image ?? '');
    return isProxy(name, image) || isInit(name, image);
  });
}

/**
 * Applies the truth table. `podInject` and `nsInject` are the raw annotation values ('' when absent).
 * The CLI decides for the manifest it is given, so only the workload's own `disabled` stops it there.
 */
export function decide(
  spec: PodSpec | undefined,
  podInject: string,
  nsInject: string,
  values: Values,
  origin: Origin,
): Decision {
  if (!spec) return { inject: false, reasons: ['unsupported_resource'], annotationAt: '', mode: '' };
  const reasons: SkipReason[] = [];
  if (spec.hostNetwork === true) reasons.push('host_network_enabled');
  if (hasSidecar(spec, values)) reasons.push('sidecar_already_exists');

  const annotationAt = podInject !== '' ? 'workload' : nsInject !== '' ? 'namespace' : '';
  const on = (v: string) => v === INJECT_ENABLED || v === INJECT_INGRESS;
  let mode: Decision['mode'] = '';
  if (origin === 'cli') {
    if (podInject === INJECT_DISABLED) reasons.push('injection_disable_annotation_present');
    mode = podInject === INJECT_INGRESS ? 'ingress' : 'enabled';
  } else if (nsInject !== '' && !INJECT_VALUES.includes(nsInject)) {
    reasons.push('invalid_inject_annotation_at_ns');
  } else if (podInject !== '' && !INJECT_VALUES.includes(podInject)) {
    reasons.push('invalid_inject_annotation_at_workload');
  } else if (on(nsInject)) {
    if (podInject === INJECT_DISABLED) reasons.push('injection_disable_annotation_present');
    else mode = on(podInject) ? (podInject as 'enabled' | 'ingress') : (nsInject as 'enabled' | 'ingress');
  } else if (on(podInject)) {
    mode = podInject as 'enabled' | 'ingress';
  } else {
    reasons.push('injection_enable_annotation_absent');
  }

  if (!values.identity.serviceAccountTokenProjection && spec.automountServiceAccountToken === false) {
    reasons.push('disabled_automount_service_account_token_account');
  }
  return reasons.length === 0
    ? { inject: true, reasons, annotationAt, mode }
    : { inject: false, reasons, annotationAt, mode: '' };
}
