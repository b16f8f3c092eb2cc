// trellis-crd, trellis-existence, trellis-config, control-plane-version and trellis-ha-checks: is the control plane
// installed whole, and are its pods up.
import { parse } from 'yaml';
import { notReadyReason, podName } from './cluster.ts';
import { valueAt, type CheckContext } from './context.ts';
import { fail, ok, warn, type Category, type CheckOutcome } from './model.ts';

export const CONFIG_MAP = 'trellis-config';
export const COMPONENTS = ['identity', 'destination', 'proxy-injector'] as const;
export const CRDS = [
  'serviceprofiles.linkerd.io',
  'servers.policy.linkerd.io',
  'serverauthorizations.policy.linkerd.io',
  'authorizationpolicies.policy.linkerd.io',
  'meshtlsauthentications.policy.linkerd.io',
  'networkauthentications.policy.linkerd.io',
  'httproutes.policy.linkerd.io',
] as const;
export const MUTATING_WEBHOOK = 'trellis-proxy-injector-webhook-config';
export const VALIDATING_WEBHOOK = 'trellis-sp-validator-webhook-config';

const describePods = (ctx: CheckContext) => `kubectl -n ${ctx.ns} get pods -l linkerd.io/control-plane-ns=${ctx.ns}`;

async function controlPlanePods(ctx: CheckContext) {
  return ctx.cluster.pods(ctx.ns, 'linkerd.io/control-plane-component');
}

/** Names from `want` that `have` lacks, as a failure; ok when none. */
function missingOf(kind: string, want: readonly string[], have: ReadonlySet<string>, hint?: string): CheckOutcome {
  const missing = want.filter((n) => !have.has(n));
  return missing.length ? fail(`missing ${kind}: ${missing.join(', ')}`, hint) : ok;
}

const reinstall = (ctx: CheckContext) => `helm -n ${ctx.ns} upgrade --install trellis-control-plane helm/trellis-control-plane ...`;

export const trellisCrd: Category<CheckContext> = {
  id: 'trellis-crd',
  checks: [
    {
      description: 'control plane CustomResourceDefinitions exist',
      fatal: true,
      retry: true,
      run: async (ctx) => {
        const items = (await ctx.cluster.crds.listCustomResourceDefinition()).items;
        const established = new Set(
          items.filter((c) => c.status?.conditions?.some((k) => k.type === 'Established' && k.status === 'True')).map((c) => c.metadata?.name ?? ''),
        );
        return missingOf('CustomResourceDefinitions (or not Established)', CRDS, established, 'trellis install --crds | kubectl apply -f - (or helm install trellis-crds helm/trellis-crds)');
      },
    },
  ],
};

export const trellisExistence: Category<CheckContext> = {
  id: 'trellis-existence',
  checks: [
    {
      description: `'${CONFIG_MAP}' config map exists`,
      fatal: true,
      run: async (ctx) => {
        const cm = await ctx.cluster.maybe(() => ctx.cluster.core.readNamespacedConfigMap({ name: CONFIG_MAP, namespace: ctx.ns }));
        if (!cm) return fail(`ConfigMap ${ctx.ns}/${CONFIG_MAP} not found: is Trellis installed in "${ctx.ns}"?`, `pass --trellis-namespace if it lives elsewhere, or ${reinstall(ctx)}`);
        const text = cm.data?.['values'];
        if (text === undefined) return fail(`ConfigMap ${ctx.ns}/${CONFIG_MAP} has no "values" key`);
        const values = parse(text) as unknown;
        if (values === null || typeof values !== 'object') return fail(`ConfigMap ${ctx.ns}/${CONFIG_MAP} key "values" is not a YAML mapping`);
        ctx.values = values as Record<string, unknown>;
        return ok;
      },
    },
    {
      description: 'control plane replica sets are ready',
      retry: true,
      run: async (ctx) => {
        const problems = [];
        for (const c of COMPONENTS) {
          const d = await ctx.cluster.maybe(() => ctx.cluster.apps.readNamespacedDeployment({ name: `trellis-${c}`, namespace: ctx.ns }));
          if (!d) problems.push(`deployment/trellis-${c} not found`);
          else if ((d.status?.readyReplicas ?? 0) < (d.spec?.replicas ?? 1)) problems.push(`deployment/trellis-${c}: ${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1} ready`);
        }
        return problems.length ? fail(problems.join('\n'), describePods(ctx)) : ok;
      },
    },
    {
      description: 'no unschedulable pods',
      retry: true,
      run: async (ctx) => {
        const stuck = (await controlPlanePods(ctx)).filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
        return stuck.length ? fail(stuck.map((p) => `${podName(p)}: ${notReadyReason(p)}`).join('\n'), `kubectl -n ${ctx.ns} describe pod ${stuck[0]?.metadata?.name}`) : ok;
      },
    },
    {
      description: 'control plane pods are ready',
      retry: true,
      run: async (ctx) => {
        const pods = await controlPlanePods(ctx);
        const lines = [];
        for (const c of COMPONENTS) {
          const mine = pods.filter((p) => p.metadata?.labels?.['linkerd.io/control-plane-component'] === c && !p.metadata?.deletionTimestamp);
          if (mine.length === 0) lines.push(`no pods for "trellis-${c}"`);
          for (const p of mine) {
            const why = notReadyReason(p);
            if (why) lines.push(`pod/${p.metadata?.name} is not ready (${why})`);
          }
        }
        return lines.length ? fail(lines.join('\n'), describePods(ctx)) : ok;
      },
    },
  ],
};

export const trellisConfig: Category<CheckContext> = {
  id: 'trellis-config',
  checks: [
    {
      description: 'control plane Namespace exists',
      fatal: true,
      run: async (ctx) => ((await ctx.cluster.maybe(() => ctx.cluster.core.readNamespace({ name: ctx.ns }))) ? ok : fail(`namespace "${ctx.ns}" not found`)),
    },
    {
      description: 'ClusterRoles exist',
      run: async (ctx) => {
        const have = new Set((await ctx.cluster.rbac.listClusterRole({ labelSelector: `linkerd.io/control-plane-ns=${ctx.ns}` })).items.map((r) => r.metadata?.name ?? ''));
        return missingOf('ClusterRoles', ['destination', 'policy', 'identity', 'proxy-injector'].map((c) => `trellis-${ctx.ns}-${c}`), have, reinstall(ctx));
      },
    },
    {
      description: 'ClusterRoleBindings exist',
      run: async (ctx) => {
        const have = new Set((await ctx.cluster.rbac.listClusterRoleBinding({ labelSelector: `linkerd.io/control-plane-ns=${ctx.ns}` })).items.map((r) => r.metadata?.name ?? ''));
        return missingOf('ClusterRoleBindings', ['destination', 'destination-policy', 'identity', 'proxy-injector'].map((c) => `trellis-${ctx.ns}-${c}`), have, reinstall(ctx));
      },
    },
    {
      description: 'ServiceAccounts exist',
      run: async (ctx) => {
        const have = new Set((await ctx.cluster.core.listNamespacedServiceAccount({ namespace: ctx.ns })).items.map((s) => s.metadata?.name ?? ''));
        return missingOf('ServiceAccounts', COMPONENTS.map((c) => `trellis-${c}`), have, reinstall(ctx));
      },
    },
    {
      description: 'MutatingWebhookConfigurations exist',
      run: async (ctx) => ((await ctx.cluster.maybe(() => ctx.cluster.admission.readMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK }))) ? ok : fail(`missing ${MUTATING_WEBHOOK}`, reinstall(ctx))),
    },
    {
      description: 'ValidatingWebhookConfigurations exist',
      run: async (ctx) => ((await ctx.cluster.maybe(() => ctx.cluster.admission.readValidatingWebhookConfiguration({ name: VALIDATING_WEBHOOK }))) ? ok : fail(`missing ${VALIDATING_WEBHOOK}`, reinstall(ctx))),
    },
  ],
};

export const controlPlaneVersion: Category<CheckContext> = {
  id: 'control-plane-version',
  checks: [
    {
      description: 'can retrieve the control plane version',
      run: async (ctx) => (typeof valueAt(ctx.values, 'linkerdVersion') === 'string' ? ok : fail(`${CONFIG_MAP} has no linkerdVersion value`)),
    },
    {
      description: 'control plane and cli versions match',
      run: async (ctx) => {
        const cp = valueAt(ctx.values, 'linkerdVersion');
        return cp === ctx.options.cliVersion ? ok : warn(`control plane running ${String(cp)} but cli running ${ctx.options.cliVersion}`, 'use the trellis CLI of the installed release');
      },
    },
  ],
};

export const trellisHa: Category<CheckContext> = {
  id: 'trellis-ha-checks',
  when: (ctx) => valueAt(ctx.values, 'highAvailability') === true,
  checks: [
    {
      description: 'multiple replicas of control plane pods',
      retry: true,
      run: async (ctx) => {
        const pods = await controlPlanePods(ctx);
        const single = COMPONENTS.filter((c) => pods.filter((p) => p.metadata?.labels?.['linkerd.io/control-plane-component'] === c && !notReadyReason(p)).length < 2);
        return single.length ? warn(`fewer than 2 ready replicas of: ${single.map((c) => `trellis-${c}`).join(', ')}`, 'highAvailability is on: a lost node or a rollout takes these down') : ok;
      },
    },
  ],
};
