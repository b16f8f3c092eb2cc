// The four CNI commands for one invocation. ADD writes proxy-init's rules into a meshed pod's network namespace
// and hands on the previous plugin's result; DEL removes them; CHECK reports drift; VERSION lists the versions.
// Pods that are not meshed, and calls outside Kubernetes, pass through untouched.
import { existsSync } from 'node:fs';
import { checkFirewall, commandRunner, configureFirewall, FirewallError, removeFirewall, simulate, type ApplyDeps, type ProxyInitConfig } from '@trellis/iptables';
import type { Logger } from '@trellis/telemetry';
import { parseNetConf, type NetConf } from './cni/conf.ts';
import type { CniRequest } from './cni/env.ts';
import { CNI_ERR, CniError } from './cni/errors.ts';
import { addResult, versionResult } from './cni/result.ts';
import { apiGetter, type ApiGet } from './kube/client.ts';
import { KubeconfigError, readKubeconfig } from './kube/kubeconfig.ts';
import { getApiServerPorts, getNamespaceAnnotations, getPod } from './pod/lookup.ts';
import { meshDecision, type PodView } from './pod/meshed.ts';
import { CONTROL_PLANE_LABEL, confRedirectConfig, podRedirectConfig } from './pod/settings.ts';

export interface PluginDeps {
  readonly log: (conf: NetConf | undefined) => Logger;
  /** Builds the API reader from the conflist's kubeconfig; tests may point it elsewhere. */
  readonly api?: (kubeconfig: string) => Promise<ApiGet>;
  readonly firewall?: Pick<ApplyDeps, 'resolve'>;
}

const defaultApi = async (kubeconfig: string): Promise<ApiGet> => apiGetter(await readKubeconfig(kubeconfig));

/** The cniVersion a VERSION call asks about; its stdin holds only that. */
function requestedVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && v !== '' ? v : '1.1.0';
  } catch {
    return '1.1.0';
  }
}

interface MeshedPod {
  readonly pod: PodView;
  readonly config: ProxyInitConfig;
}

/** The meshed pod this call is about with its settings, or undefined when there is nothing to do. */
async function meshedPod(req: CniRequest, conf: NetConf, log: Logger, deps: PluginDeps): Promise<MeshedPod | undefined> {
  const namespace = req.args.get('K8S_POD_NAMESPACE') ?? '';
  const name = req.args.get('K8S_POD_NAME') ?? '';
  if (namespace === '' || name === '') {
    log.debug('no K8S_POD_NAMESPACE and K8S_POD_NAME in CNI_ARGS: not a Kubernetes pod, nothing to do');
    return undefined;
  }
  if (conf.kubeconfig === '') throw new CniError(CNI_ERR.invalidConfig, `invalid network configuration: kubernetes.kubeconfig is missing, so pod ${namespace}/${name} cannot be read`);
  let get: ApiGet;
  try {
    get = await (deps.api ?? defaultApi)(conf.kubeconfig);
  } catch (err) {
    if (err instanceof KubeconfigError) throw new CniError(CNI_ERR.invalidConfig, `invalid network configuration: kubernetes.kubeconfig: ${err.message}`);
    throw err;
  }
  const pod = await getPod(get, namespace, name);
  const decision = meshDecision(pod);
  if (!decision.meshed) {
    log.info({ pod: `${namespace}/${name}` }, `leaving the pod alone: ${decision.reason}`);
    return undefined;
  }
  const namespaceAnnotations = await getNamespaceAnnotations(get, namespace);
  const apiServerPorts = pod.metadata?.labels?.[CONTROL_PLANE_LABEL] ? await getApiServerPorts(get) : [];
  return { pod, config: podRedirectConfig(conf.redirect, req.netns, { pod, namespaceAnnotations, apiServerPorts }) };
}

async function firewall<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (err instanceof FirewallError) throw new CniError(CNI_ERR.firewall, `${what}: ${err.message}`);
    throw err;
  }
}

/** Runs one command; returns what goes to stdout ('' for nothing). Throws CniError for an error result. */
export async function runPlugin(req: CniRequest, stdin: string, deps: PluginDeps): Promise<string> {
  if (req.command === 'VERSION') return versionResult(requestedVersion(stdin));
  const conf = parseNetConf(stdin);
  const log = deps.log(conf);
  // The conflist's own settings are checked on every call, whatever the pod.
  const base = confRedirectConfig(conf.redirect, req.netns);
  const applyDeps = (netns: string): ApplyDeps => ({ runner: commandRunner(netns), log, ...deps.firewall });
  switch (req.command) {
    case 'ADD': {
      const target = await meshedPod(req, conf, log, deps);
      if (target) {
        const who = `${target.pod.metadata?.namespace}/${target.pod.metadata?.name}`;
        if (target.config.simulate) simulate(target.config, applyDeps(req.netns));
        else await firewall(`cannot write the nat rules of pod ${who}`, () => configureFirewall(target.config, applyDeps(req.netns)));
        log.info({ pod: who, netns: req.netns }, 'wrote the proxy-init nat rules');
      }
      return addResult(conf);
    }
    case 'DEL': {
      // The namespace may be gone already, and its rules with it; DEL must still succeed.
      if (req.netns === '' || !existsSync(req.netns)) return '';
      await firewall('cannot remove the nat rules', () => removeFirewall(base, applyDeps(req.netns)));
      return '';
    }
    case 'CHECK': {
      if (['0.3.0', '0.3.1'].includes(conf.cniVersion)) throw new CniError(CNI_ERR.incompatibleVersion, `CHECK needs cniVersion 0.4.0 or later, the configuration says ${conf.cniVersion}`);
      const target = await meshedPod(req, conf, log, deps);
      if (!target) return '';
      const who = `${target.pod.metadata?.namespace}/${target.pod.metadata?.name}`;
      const drift = await firewall(`cannot read the nat rules of pod ${who}`, () => checkFirewall(target.config, applyDeps(req.netns)));
      if (drift.length > 0) throw new CniError(CNI_ERR.drift, `the nat table of pod ${who} differs from what ADD wrote: ${drift.join('; ')}`);
      return '';
    }
    case 'GC':
    case 'STATUS':
      // Nothing is kept outside the pods' namespaces, and the plugin is ready whenever it can run.
      return '';
  }
}
