import { describe, expect, it } from 'vitest';
import { parseCommandLine, type CommandSpec } from './command-line.ts';
import { UsageError } from './errors.ts';
import { VERSION } from './version.ts';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'demo: a command for tests.',
  flags: {
    'proxy-uid': { type: 'string', short: 'u', description: 'uid', default: '2102' },
    ipv6: { type: 'boolean', description: 'also IPv6', default: true },
    simulate: { type: 'boolean', description: 'print only', default: false },
    'ports-to-ignore': { type: 'list', short: 'p', description: 'ports', default: ['4190'] },
  },
};

function capture() {
  let text = '';
  return { out: { write: (s: string) => (text += s) }, text: () => text };
}

function run(argv: string[]) {
  const r = parseCommandLine(spec, argv, capture().out);
  if (r.kind !== 'run') throw new Error('expected run');
  return r;
}

describe('parseCommandLine', () => {
  it('applies defaults when no flag is given', () => {
    expect(run([]).values).toEqual({ 'proxy-uid': '2102', ipv6: true, simulate: false, 'ports-to-ignore': ['4190'] });
  });

  it('reads --flag value, --flag=value, -f value and -fvalue', () => {
    expect(run(['--proxy-uid', '1']).values['proxy-uid']).toBe('1');
    expect(run(['--proxy-uid=2']).values['proxy-uid']).toBe('2');
    expect(run(['-u', '3']).values['proxy-uid']).toBe('3');
    expect(run(['-u4']).values['proxy-uid']).toBe('4');
  });

  it('reads booleans as --flag, --flag=true and --flag=false', () => {
    expect(run(['--simulate']).values['simulate']).toBe(true);
    expect(run(['--ipv6=false']).values['ipv6']).toBe(false);
    expect(() => run(['--ipv6=nope'])).toThrow(/--ipv6.*true or false/);
  });

  it('replaces a list default on first use and appends on repeats and commas', () => {
    expect(run(['-p', '4191,4567', '--ports-to-ignore', '4568']).values['ports-to-ignore']).toEqual(['4191', '4567', '4568']);
  });

  it('keeps each value of a list flag with split: false whole', () => {
    const s: CommandSpec = { ...spec, flags: { set: { type: 'list', description: 'values', split: false } } };
    const r = parseCommandLine(s, ['--set', 'a=1,b=2', '--set=c={x,y}'], capture().out);
    expect(r.kind === 'run' && r.values['set']).toEqual(['a=1,b=2', 'c={x,y}']);
  });

  it('records which flags were given explicitly', () => {
    expect([...run(['--simulate', '-u', '9']).explicit].sort()).toEqual(['proxy-uid', 'simulate']);
  });

  it('names an unknown flag, a missing value and a stray argument', () => {
    expect(() => run(['--bogus'])).toThrow(/unknown flag --bogus/);
    expect(() => run(['--proxy-uid'])).toThrow(/--proxy-uid needs a value/);
    expect(() => run(['stray'])).toThrow(/unexpected argument "stray"/);
    for (const bad of [['--bogus'], ['--proxy-uid'], ['stray']]) expect(() => run(bad)).toThrow(UsageError);
  });

  it('accepts global flags anywhere, lists them apart in --help, and lets a command flag of the same name win', () => {
    const s: CommandSpec = {
      ...spec,
      globalFlags: { namespace: { type: 'string', short: 'n', description: 'the namespace' }, simulate: { type: 'boolean', description: 'global twin' } },
    };
    const r = parseCommandLine(s, ['-n', 'emojivoto', '--simulate'], capture().out);
    expect(r.kind === 'run' && r.values).toMatchObject({ namespace: 'emojivoto', simulate: true });
    const h = capture();
    parseCommandLine(s, ['-h'], h.out);
    expect(h.text()).toMatch(/Global flags:\n\s+-n, --namespace VALUE\s+the namespace\n$/);
    expect(h.text()).not.toMatch(/global twin/);
  });

  it('prints help with every flag and its default, and the version', () => {
    const h = capture();
    expect(parseCommandLine(spec, ['--help'], h.out)).toEqual({ kind: 'exit', code: 0 });
    expect(h.text()).toMatch(/-u, --proxy-uid VALUE\s+uid \(default 2102\)/);
    expect(h.text()).toMatch(/--ports-to-ignore LIST\s+ports \(default 4190\)/);
    const v = capture();
    expect(parseCommandLine(spec, ['--version'], v.out)).toEqual({ kind: 'exit', code: 0 });
    expect(v.text()).toBe(`demo ${VERSION}\n`);
  });

  it('passes everything after -- through as positionals', () => {
    const s = { ...spec, allowPositionals: true };
    const r = parseCommandLine(s, ['--simulate', 'a', '--', '--not-a-flag'], capture().out);
    expect(r.kind === 'run' && r.positionals).toEqual(['a', '--not-a-flag']);
  });
});
