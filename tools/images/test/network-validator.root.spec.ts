// The proxy image's linkerd2-network-validator (tools/images/files) in a pod-like network namespace: it passes
// once proxy-init's rules are there (as the CNI plugin writes them) and fails, saying why, when they are not.
// Runs it as the injector does: uid 65534, the default --connect-addr and --listen-addr. Needs root.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { commandRunner, configFromArgs, configureFirewall, INJECTOR_DEFAULT_ARGS } from '@trellis/iptables';
import { createLogger } from '@trellis/telemetry';
import { Writable } from 'node:stream';

const execFileP = promisify(execFile);
const VALIDATOR = fileURLToPath(new URL('../files/linkerd-network-validator.mjs', import.meta.url));
const names: string[] = [];
let counter = 0;

async function sh(cmd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args);
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 127, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/** A namespace shaped like a pod's: loopback, an interface with an address and a default route out of it (deleting
 * the namespace deletes the veth pair). */
async function podNetns(): Promise<string> {
  const n = counter++;
  const name = `trellis-nv-${process.pid}-${n}`;
  names.push(name);
  for (const args of [
    ['netns', 'add', name],
    ['-n', name, 'link', 'set', 'lo', 'up'],
    // The host end stays down: whatever leaves eth0 goes nowhere, as to an unreachable address.
    ['link', 'add', `nv${process.pid % 100000}x${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name],
    ['-n', name, 'addr', 'add', '10.254.0.2/24', 'dev', 'eth0'],
    ['-n', name, 'link', 'set', 'eth0', 'up'],
    ['-n', name, 'route', 'add', 'default', 'via', '10.254.0.1'],
  ]) {
    const r = await sh('ip', ...args);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.out}`);
  }
  return name;
}

const validate = (netns: string, ...args: string[]) => sh('ip', 'netns', 'exec', netns, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, VALIDATOR, '--log-format', 'plain', '--log-level', 'debug', ...args);
const quiet = createLogger({ name: 'test', format: 'json', level: 'error', destination: new Writable({ write: (_c, _e, done) => done() }) });

afterAll(async () => {
  for (const n of names) await sh('ip', 'netns', 'del', n);
});

describe('linkerd2-network-validator', () => {
  it('passes in a pod whose outbound traffic is redirected to 4140', async () => {
    const ns = await podNetns();
    await configureFirewall(configFromArgs(...INJECTOR_DEFAULT_ARGS, '--ipv6=false'), { runner: commandRunner(`/run/netns/${ns}`), log: quiet });
    const r = await validate(ns, '--timeout', '10s');
    expect(r.out).toContain('outbound traffic is redirected: 1.1.1.1:20001 reached 0.0.0.0:4140');
    expect(r.code).toBe(0);
  });

  it('fails within its timeout, naming what is missing, when nothing redirects', async () => {
    const ns = await podNetns();
    const started = Date.now();
    const r = await validate(ns, '--timeout', '2s');
    expect(r.code).toBe(1);
    expect(r.out).toContain('outbound traffic is not redirected: the connection to 1.1.1.1:20001 did not reach 0.0.0.0:4140 within 2s; is the trellis-cni plugin installed and chained on this node?');
    expect(Date.now() - started).toBeLessThan(9_000);
  });

  it('refuses flags it does not know with its usage', async () => {
    const r = await sh(process.execPath, VALIDATOR, '--connect', '1.1.1.1:1');
    expect(r.code).toBe(2);
    expect(r.out).toContain('unknown flag "--connect"');
  });
});
