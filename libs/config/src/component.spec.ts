import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, type CommandSpec } from './command-line.ts';
import { KUBECONFIG_FLAG, kubeconfigFlag, LOG_FLAGS, logFlags, parseHttpUrl } from './component.ts';

const SAMPLE = join(import.meta.dirname, '..', 'test', 'component-main.ts');

/** Runs the sample component; `running` is called once it logs that it listens, with its port. */
async function runSample(args: string[], running?: (port: number, signal: (s: NodeJS.Signals) => void) => Promise<void>) {
  const child = spawn(process.execPath, [SAMPLE, '--log-format', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let task: Promise<void> | undefined;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    const port = /"port":(\d+)/.exec(stdout)?.[1];
    if (port && running && !task) task = running(Number(port), (s) => child.kill(s));
  });
  const [code] = await exited;
  await task;
  const records = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, records, stderr };
}

describe('runComponent', () => {
  it('serves until SIGTERM, then logs that it shuts down, closes and exits 0', async () => {
    let answer = '';
    const r = await runSample([], async (port, signal) => {
      answer = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      signal('SIGTERM');
    });
    expect(answer).toBe('ok');
    expect(r.code).toBe(0);
    expect(r.records.map((x) => [x['component'], x['level'], x['msg']])).toEqual([
      ['sample', 'info', 'sample listening'],
      ['sample', 'info', 'shutting down'],
    ]);
  }, 30_000);

  it('stops the same way on SIGINT', async () => {
    const r = await runSample([], async (_port, signal) => signal('SIGINT'));
    expect(r.code).toBe(0);
    expect(r.records.at(-1)?.['msg']).toBe('shutting down');
  }, 30_000);

  it('exits 1 when closing fails', async () => {
    const r = await runSample(['--close-fails'], async (_port, signal) => signal('SIGTERM'));
    expect(r.code).toBe(1);
  }, 30_000);

  it('logs one fatal line with the code when start fails with a TrellisError, and exits 1', async () => {
    const r = await runSample(['--fail']);
    expect(r.code).toBe(1);
    expect(r.records).toEqual([expect.objectContaining({ level: 'fatal', component: 'sample', code: 'TRELLIS_ERR_SAMPLE', msg: 'cannot read /nowhere/sample.pem' })]);
  }, 30_000);

  it('prints a bad flag value as one line naming the flag and exits 1, before logging anything', async () => {
    const r = await runSample(['--log-level', 'loud']);
    expect(r.code).toBe(1);
    expect(r.records).toEqual([]);
    expect(r.stderr).toBe('sample: invalid value "loud" for --log-level: expected one of trace, debug, info, warn, error, fatal, silent\n');
  }, 30_000);
});

describe('the shared flags', () => {
  const spec: CommandSpec = { name: 'demo', summary: 'demo.', flags: { ...KUBECONFIG_FLAG, ...LOG_FLAGS } };
  const values = (argv: string[]) => {
    const cli = parseCommandLine(spec, argv);
    if (cli.kind !== 'run') throw new Error('expected a run');
    return cli.values;
  };

  it('default to info, plain, and no kubeconfig', () => {
    expect(logFlags(values([]))).toEqual({ logLevel: 'info', logFormat: 'plain' });
    expect(kubeconfigFlag(values([]))).toBeUndefined();
  });

  it('take a level, a format and a kubeconfig file', () => {
    const v = values(['--log-level', 'debug', '--log-format=json', '--kubeconfig', '/etc/kube.yaml']);
    expect(logFlags(v)).toEqual({ logLevel: 'debug', logFormat: 'json' });
    expect(kubeconfigFlag(v)).toBe('/etc/kube.yaml');
  });

  it('name the flag and the value they refuse', () => {
    expect(() => logFlags(values(['--log-format', 'xml']))).toThrow('invalid value "xml" for --log-format: expected one of json, plain');
  });
});

describe('parseHttpUrl', () => {
  it('drops trailing slashes', () => {
    expect(parseHttpUrl('--prometheus-url', 'http://prometheus:9090//')).toBe('http://prometheus:9090');
    expect(parseHttpUrl('--prometheus-url', 'https://prometheus.example/api/')).toBe('https://prometheus.example/api');
  });

  it('names the flag and the value it refuses', () => {
    expect(() => parseHttpUrl('--prometheus-url', 'prometheus:9090')).toThrow('invalid value "prometheus:9090" for --prometheus-url: expected an http:// or https:// URL');
    expect(() => parseHttpUrl('--prometheus-url', 'not a url')).toThrow('invalid value "not a url" for --prometheus-url: not a URL');
  });
});
