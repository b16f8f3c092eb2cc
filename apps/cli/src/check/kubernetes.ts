// kubernetes-api, kubernetes-version and (with --pre) pre-kubernetes-setup: can we talk to the cluster, is it new
// enough for the charts, and may this user install Trellis into it.
import { loadCluster } from '../cluster/kubeconfig.ts';
import { Cluster } from './cluster.ts';
import type { CheckContext } from './context.ts';
import { fail, ok, warn, type Category } from './model.ts';

/** The charts' `kubeVersion: >=1.31.0-0`. */
export const MIN_KUBERNETES = { major: 1, minor: 31 } as const;
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export const kubernetesApi: Category<CheckContext> = {
  id: 'kubernetes-api',
  checks: [
    {
      description: 'can initialize the client',
      fatal: true,
      run: async (ctx) => {
        ctx.cluster = new Cluster(loadCluster(ctx.options));
        return ok;
      },
    },
    {
      description: 'can query the Kubernetes API',
      fatal: true,
      retry: true,
      run: async (ctx) => {
        try {
          await ctx.cluster.serverVersion();
          return ok;
        } catch (err) {
          // fetch hides the socket error in `cause`; that is the part that says what is wrong.
          const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message.split('\n')[0];
          return fail(`cannot reach ${ctx.cluster.server}: ${cause}`, 'is the cluster up? kubectl cluster-info');
        }
      },
    },
  ],
};

export const kubernetesVersion: Category<CheckContext> = {
  id: 'kubernetes-version',
  checks: [
    {
      description: 'is running the minimum Kubernetes API version',
      run: async (ctx) => {
        const v = await ctx.cluster.serverVersion();
        const newEnough = v.major > MIN_KUBERNETES.major || (v.major === MIN_KUBERNETES.major && v.minor >= MIN_KUBERNETES.minor);
        return newEnough ? ok : fail(`the API server is ${v.gitVersion}; Trellis needs ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor} or newer`);
      },
    },
  ],
};

const NAMESPACED_CREATES = [
  ['ServiceAccounts', '', 'serviceaccounts'],
  ['Services', '', 'services'],
  ['Deployments', 'apps', 'deployments'],
  ['CronJobs', 'batch', 'cronjobs'],
  ['ConfigMaps', '', 'configmaps'],
  ['Secrets', '', 'secrets'],
] as const;

export const preKubernetesSetup: Category<CheckContext> = {
  id: 'pre-kubernetes-setup',
  checks: [
    {
      description: 'control plane namespace does not already exist',
      run: async (ctx) => {
        const found = await ctx.cluster.maybe(() => ctx.cluster.core.readNamespace({ name: ctx.ns }));
        return found ? fail(`the "${ctx.ns}" namespace already exists`, `helm -n ${ctx.ns} list (Trellis may be installed already)`) : ok;
      },
    },
    {
      description: 'can create non-namespaced resources',
      run: async (ctx) => {
        const missing = [];
        for (const [what, group, resource] of [['ClusterRoles', 'rbac.authorization.k8s.io', 'clusterroles'], ['ClusterRoleBindings', 'rbac.authorization.k8s.io', 'clusterrolebindings'], ['CustomResourceDefinitions', 'apiextensions.k8s.io', 'customresourcedefinitions'], ['MutatingWebhookConfigurations', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations']] as const) {
          if (!(await ctx.cluster.can('create', group, resource))) missing.push(what);
        }
        return missing.length ? fail(`this user may not create ${missing.join(', ')}`) : ok;
      },
    },
    ...NAMESPACED_CREATES.map(([what, group, resource]) => ({
      description: `can create ${what}`,
      run: async (ctx: CheckContext) => ((await ctx.cluster.can('create', group, resource, ctx.ns)) ? ok : fail(`this user may not create ${what} in "${ctx.ns}"`)),
    })),
    {
      description: 'can read Secrets',
      run: async (ctx) => ((await ctx.cluster.can('get', '', 'secrets', ctx.ns)) ? ok : fail(`this user may not read Secrets in "${ctx.ns}"`)),
    },
    {
      description: 'no clock skew detected',
      run: async (ctx) => {
        const nodes = (await ctx.cluster.core.listNode()).items;
        const now = ctx.now().getTime();
        const skewed = nodes.flatMap((n) => {
          const beat = n.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime;
          if (!beat) return [];
          const skew = Math.abs(now - new Date(beat).getTime());
          return skew > MAX_CLOCK_SKEW_MS ? [`node ${n.metadata?.name}: last heartbeat ${Math.round(skew / 1000)} s away from this machine's clock`] : [];
        });
        return skewed.length ? warn(skewed.join('\n'), 'synchronise the clocks (certificates are checked against them)') : ok;
      },
    },
  ],
};
