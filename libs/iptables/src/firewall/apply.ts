// Applies the rules of each address family in one iptables-restore transaction: read the table, build the
// rules for what is there, check all families with --test, then commit each. Logs the table before and after.
import type { Logger } from '@trellis/telemetry';
import type { ProxyInitConfig } from '../config/config.ts';
import { commandLine, restoreInput } from '../rules/render.ts';
import { buildNatRules, EMPTY_NAT_STATE, readNatState, type Family, type NatRule } from '../rules/rules.ts';
import { configuredBinaries, resolveBinaries, type FirewallBinaries } from './binaries.ts';
import { commandFailed, restoreRejected } from './errors.ts';
import type { CommandRunner } from './exec.ts';
import { restoreFailureMessage } from './restore-error.ts';

export interface FamilyPlan {
  readonly family: Family;
  readonly binaries: FirewallBinaries;
  readonly rules: readonly NatRule[];
  readonly input: string;
}

export interface ApplyDeps {
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Resolves binaries; tests pass a fake, production uses PATH. */
  readonly resolve?: typeof resolveBinaries;
}

const families = (config: ProxyInitConfig): Family[] => (config.ipv6 ? [4, 6] : [4]);

const restoreCommand = (config: ProxyInitConfig, plan: FamilyPlan, test: boolean) => [
  plan.binaries.restore,
  ...(config.useWaitFlag ? ['-w'] : []),
  '--noflush',
  ...(test ? ['--test'] : []),
];

export async function saveNat(deps: ApplyDeps, binaries: FirewallBinaries, stage: string): Promise<string> {
  const cmd = [binaries.save, '-t', 'nat'];
  deps.log.info(deps.runner.argv(cmd).join(' '));
  const res = await deps.runner.run(cmd);
  if (res.stdout) deps.log.info({ stage }, res.stdout);
  if (res.code !== 0) throw commandFailed(`${cmd.join(' ')} exited ${res.code}: ${res.stderr.trim()}`);
  return res.stdout;
}

function logCommands(deps: ApplyDeps, config: ProxyInitConfig, plan: FamilyPlan): void {
  for (const rule of plan.rules) deps.log.info(deps.runner.argv([commandLine(plan.binaries.iptables, rule, config.useWaitFlag)]).join(' '));
}

async function restore(deps: ApplyDeps, config: ProxyInitConfig, plan: FamilyPlan, test: boolean): Promise<void> {
  const cmd = restoreCommand(config, plan, test);
  deps.log.debug({ input: plan.input }, deps.runner.argv(cmd).join(' '));
  const res = await deps.runner.run(cmd, plan.input);
  if (res.code === 0) return;
  deps.log.error({ stderr: res.stderr, input: plan.input }, `${cmd.join(' ')} exited ${res.code}`);
  throw restoreRejected(restoreFailureMessage(plan.binaries.restore, res.stderr, plan.rules));
}

/** What --simulate prints: every command, against an empty table, with nothing run. */
export function simulate(config: ProxyInitConfig, deps: ApplyDeps): FamilyPlan[] {
  const plans = families(config).map((family) => {
    const binaries = configuredBinaries(config, family);
    const rules = buildNatRules(config, family, EMPTY_NAT_STATE);
    return { family, binaries, rules, input: restoreInput(rules) };
  });
  if (config.timeoutCloseWaitSecs !== 0) deps.log.info(deps.runner.argv(sysctlCommand(config)).join(' '));
  for (const plan of plans) {
    deps.log.info(deps.runner.argv([plan.binaries.save, '-t', 'nat']).join(' '));
    logCommands(deps, config, plan);
    deps.log.info({ input: plan.input }, deps.runner.argv(restoreCommand(config, plan, false)).join(' '));
  }
  return plans;
}

const sysctlCommand = (config: ProxyInitConfig) => ['sysctl', '-w', `net.netfilter.nf_conntrack_tcp_timeout_close_wait=${config.timeoutCloseWaitSecs}`];

export async function setCloseWaitTimeout(config: ProxyInitConfig, deps: ApplyDeps): Promise<void> {
  if (config.timeoutCloseWaitSecs === 0) return;
  const cmd = sysctlCommand(config);
  deps.log.info(deps.runner.argv(cmd).join(' '));
  const res = await deps.runner.run(cmd);
  if (res.stdout.trim()) deps.log.info(res.stdout.trim());
  if (res.code !== 0) throw commandFailed(`${cmd.join(' ')} exited ${res.code}: ${res.stderr.trim()}`);
}

/** Writes the rules of every family; the first rejected transaction stops the run with the rule named. */
export async function configureFirewall(config: ProxyInitConfig, deps: ApplyDeps): Promise<FamilyPlan[]> {
  const resolve = deps.resolve ?? resolveBinaries;
  const plans: FamilyPlan[] = [];
  for (const family of families(config)) {
    const binaries = resolve(config, family);
    const before = await saveNat(deps, binaries, `before (IPv${family})`);
    const rules = buildNatRules(config, family, readNatState(before));
    plans.push({ family, binaries, rules, input: restoreInput(rules) });
  }
  // Check every family before committing any, so a bad IPv6 rule does not leave IPv4 half-configured.
  for (const plan of plans) await restore(deps, config, plan, true);
  for (const plan of plans) {
    logCommands(deps, config, plan);
    try {
      await restore(deps, config, plan, false);
    } finally {
      await saveNat(deps, plan.binaries, `after (IPv${plan.family})`);
    }
  }
  return plans;
}
