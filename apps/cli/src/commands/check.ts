// `trellis check`: Linkerd's health checks for a Trellis install, with a concrete next step for every failure.
import { parseCommandLine, parseDuration, parseEnum, VERSION, type CommandSpec } from '@trellis/config';
import { categoriesFor } from '../check/categories.ts';
import { CheckContext } from '../check/context.ts';
import { renderJson, styleFor, tableWriter, type CheckOutput } from '../check/render.ts';
import { runChecks, succeeded } from '../check/runner.ts';
import type { CommandIo } from './io.ts';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS } from '../cluster/kubeconfig.ts';

export const CHECK_SPEC: CommandSpec = {
  name: 'trellis check',
  summary: 'Check that Trellis is installed and healthy (or, with --pre, that the cluster is ready for it).',
  flags: {
    pre: { type: 'boolean', description: 'only check that Trellis can be installed' },
    crds: { type: 'boolean', description: 'only check that the CRDs are installed' },
    proxy: { type: 'boolean', description: 'also check the meshed pods\' proxies' },
    namespace: { type: 'string', short: 'n', description: 'with --proxy: only this namespace (default: all)' },
    output: { type: 'string', short: 'o', description: 'output format (table, short, json)', default: 'table' },
    wait: { type: 'string', description: 'how long to retry checks that may still converge (pods starting)', default: '5m' },
    'expected-version': { type: 'string', description: 'the version the control plane and proxies should run (default: this CLI\'s)' },
    'cni-enabled': { type: 'boolean', description: 'the CNI plugin writes the redirects: with --pre, check it instead of linkerd-init\'s capabilities' },
    'linkerd-cni-enabled': { type: 'boolean', description: "Linkerd's name for --cni-enabled" },
    'cni-namespace': { type: 'string', description: "namespace of the CNI plugin (default trellis-cni)" },
  },
  globalFlags: GLOBAL_FLAGS,
  epilog: 'Exit code 0 when every check passes (warnings allowed), 1 otherwise.',
};

export async function runCheck(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(CHECK_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const output = parseEnum<CheckOutput>('--output', String(v['output']), ['table', 'short', 'json']);
  const waitMs = parseDuration('--wait', String(v['wait']));
  const cniEnabled = v['cni-enabled'] === true || v['linkerd-cni-enabled'] === true;
  const ctx = new CheckContext({
    controlPlaneNamespace: controlPlaneNamespace(v),
    ...(typeof v['namespace'] === 'string' ? { dataPlaneNamespace: v['namespace'] } : {}),
    cliVersion: typeof v['expected-version'] === 'string' ? v['expected-version'] : VERSION,
    cniEnabled,
    ...(typeof v['cni-namespace'] === 'string' ? { cniNamespace: v['cni-namespace'] } : {}),
    ...clusterSelection(v),
  });
  const table = output === 'json' ? undefined : tableWriter(io.stdout, output === 'short', styleFor(io.stdoutIsTTY === true));
  const categories = categoriesFor({ pre: v['pre'] === true, crds: v['crds'] === true, proxy: v['proxy'] === true, cniEnabled });
  const reports = await runChecks(categories, ctx, { deadline: Date.now() + waitMs, ...(table ? { onResult: (r) => table.result(r), onWait: (d, _o, left) => table.waiting(d, left) } : {}) });
  const passed = succeeded(reports);
  if (table) table.end(passed);
  else io.stdout.write(renderJson(reports, passed));
  return passed ? 0 : 1;
}
