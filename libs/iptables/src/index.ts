export * from './config/config.ts';
export { proxyInitCommand } from './config/flags.ts';
export { configFromArgs, INJECTOR_DEFAULT_ARGS } from './config/from-args.ts';
export * from './rules/rules.ts';
export { commandLine, restoreInput } from './rules/render.ts';
export * from './firewall/apply.ts';
export { resolveBinaries, configuredBinaries, type FirewallBinaries } from './firewall/binaries.ts';
export * from './firewall/errors.ts';
export { commandRunner, type CommandResult, type CommandRunner } from './firewall/exec.ts';
