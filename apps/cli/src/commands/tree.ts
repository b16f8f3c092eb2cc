// Every trellis command in one tree: names, one-line summaries, the flag specs (for --help and shell completion)
// and the function that runs each leaf.
import type { CommandSpec } from '@trellis/config';
import { AUTHZ_SPEC, runAuthz } from './authz.ts';
import { CHECK_SPEC, runCheck } from './check.ts';
import { COMPLETION_SPEC, runComplete, runCompletion } from './completion.ts';
import { CONTROLLER_METRICS_SPEC, PROXY_METRICS_SPEC, runControllerMetrics, runProxyMetrics } from './diagnostics.ts';
import { ENDPOINTS_SPEC, POLICY_SPEC, PROFILE_DIAG_SPEC, runEndpoints, runPolicy, runProfileDiagnostics } from './diagnostics-destination.ts';
import { IDENTITY_SPEC, runIdentity } from './identity.ts';
import { INJECT_SPEC, runInject } from './inject.ts';
import { INSTALL_SPEC, runInstall, runUpgrade, UPGRADE_SPEC } from './install.ts';
import { INSTALL_CNI_SPEC, runInstallCni } from './install-cni.ts';
import type { CommandNode } from './command-node.ts';
import { PROFILE_SPEC, runProfile } from './profile.ts';
import { runUninject, UNINJECT_SPEC } from './uninject.ts';
import { PRUNE_SPEC, runPrune, runUninstall, UNINSTALL_SPEC } from './uninstall.ts';
import { runVersion, VERSION_SPEC } from './version.ts';
import { runStat, STAT_SPEC } from './viz.ts';
import { runTap, runTop, TAP_SPEC, TOP_SPEC } from './viz-tap.ts';
import { EDGES_SPEC, runEdges } from './viz-edges.ts';
import { ROUTES_SPEC, runRoutes } from './viz-routes.ts';
import { runVizCheck, runVizDashboard, VIZ_CHECK_SPEC, VIZ_DASHBOARD_SPEC } from './viz-check.ts';
import { runVizInstall, runVizUninstall, VIZ_INSTALL_SPEC, VIZ_UNINSTALL_SPEC } from './viz-install.ts';


const leaf = (spec: CommandSpec, run: CommandNode['run'], summary = spec.summary): CommandNode => ({ summary, spec, run });

const stat = leaf(STAT_SPEC, runStat, 'Golden metrics (success rate, RPS, latency, TCP connections) per workload or pod');

const COMMANDS: Record<string, CommandNode> = {
  authz: leaf(AUTHZ_SPEC, runAuthz, "List the authorizations that apply to a resource's Servers and routes"),
  check: leaf(CHECK_SPEC, runCheck, 'Check the Trellis installation for potential problems'),
  diagnostics: {
    summary: 'Diagnostics of the proxies and the control plane',
    description: 'Commands that show what the proxies and the control plane see, for debugging.',
    subcommands: {
      'controller-metrics': leaf(CONTROLLER_METRICS_SPEC, runControllerMetrics, "Print the raw metrics of the control plane's controllers"),
      endpoints: leaf(ENDPOINTS_SPEC, runEndpoints, 'Print the endpoints destination gives a proxy for an authority'),
      policy: leaf(POLICY_SPEC, runPolicy, "Print the inbound or outbound policy destination gives a proxy"),
      profile: leaf(PROFILE_DIAG_SPEC, runProfileDiagnostics, 'Print the profile destination gives a proxy for an authority or address'),
      'proxy-metrics': leaf(PROXY_METRICS_SPEC, runProxyMetrics, "Print the raw metrics of a resource's proxies"),
    },
  },
  identity: leaf(IDENTITY_SPEC, runIdentity, "Print the certificate of each meshed pod's proxy"),
  inject: leaf(INJECT_SPEC, runInject, 'Add the Trellis proxy to Kubernetes manifests'),
  install: leaf(INSTALL_SPEC, runInstall, 'Output the manifests to install Trellis (--crds first)'),
  'install-cni': leaf(INSTALL_CNI_SPEC, runInstallCni, 'Output the manifests to install the Trellis CNI plugin'),
  profile: leaf(PROFILE_SPEC, runProfile, 'Output a ServiceProfile: a template, or from an OpenAPI or .proto file'),
  prune: leaf(PRUNE_SPEC, runPrune, 'Output the control-plane objects an upgrade left behind, for kubectl delete'),
  uninject: leaf(UNINJECT_SPEC, runUninject, 'Remove the Trellis proxy from Kubernetes manifests'),
  uninstall: leaf(UNINSTALL_SPEC, runUninstall, 'Output every object Trellis created, for kubectl delete'),
  upgrade: leaf(UPGRADE_SPEC, runUpgrade, 'Output the manifests to upgrade Trellis, keeping its values and certificates'),
  version: leaf(VERSION_SPEC, runVersion, 'Print the client and the control plane versions'),
  viz: {
    summary: 'Observe meshed traffic',
    description: 'The viz extension (Prometheus, the metrics API, the dashboard) and what it shows of meshed traffic.',
    subcommands: {
      check: leaf(VIZ_CHECK_SPEC, runVizCheck, 'Check that the viz extension is installed and healthy'),
      dashboard: leaf(VIZ_DASHBOARD_SPEC, (argv, io) => runVizDashboard(argv, io), 'Serve the dashboard on localhost and print its URL'),
      edges: leaf(EDGES_SPEC, runEdges, 'Who calls whom among meshed workloads, and whether it is mTLS'),
      install: leaf(VIZ_INSTALL_SPEC, runVizInstall, 'Output the manifests of the viz extension'),
      routes: leaf(ROUTES_SPEC, runRoutes, "Per-route success rate, RPS and latency of a resource's ServiceProfile and HTTPRoute routes"),
      stat,
      tap: leaf(TAP_SPEC, runTap, 'Listen to a traffic stream: each request and response of a resource, live'),
      top: leaf(TOP_SPEC, runTop, 'Display sorted information about live traffic: the most requested paths and their latency'),
      uninstall: leaf(VIZ_UNINSTALL_SPEC, runVizUninstall, 'Output every object of the viz extension, for kubectl delete'),
    },
  },
  stat: { ...stat, summary: 'Alias of viz stat', hidden: true },
};

export const ROOT: CommandNode = {
  summary: 'trellis manages the Trellis service mesh.',
  subcommands: {
    ...COMMANDS,
    completion: leaf(COMPLETION_SPEC, runCompletion, 'Output the shell completion script (bash, zsh, fish)'),
    // What the completion scripts call; the raw arguments, never parsed as flags.
    __complete: { summary: 'Complete a command line', hidden: true, run: (argv, io) => runComplete(ROOT, argv, io) },
  },
};

export type { CommandNode };
