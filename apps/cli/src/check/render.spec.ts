import { describe, expect, it } from 'vitest';
import type { CheckReport } from './model.ts';
import { renderJson, styleFor, tableWriter } from './render.ts';

const reports: CheckReport[] = [
  { category: 'kubernetes-api', description: 'can initialize the client', outcome: { status: 'ok' } },
  { category: 'kubernetes-api', description: 'can query the Kubernetes API', outcome: { status: 'ok' } },
  { category: 'trellis-identity', description: 'issuer cert is valid for at least 60 days', outcome: { status: 'warn', message: '"identity.trellis.cluster.local" expires at 2027-01-01T00:00:00.000Z (in 39 days)', hint: 'rotate the issuer' } },
  { category: 'trellis-existence', description: 'control plane pods are ready', outcome: { status: 'fail', message: 'pod/a is not ready (Pending)\npod/b is not ready (Pending)', hint: 'kubectl -n trellis get pods' } },
];

function table(short: boolean, ok: boolean): string {
  let out = '';
  const w = tableWriter({ write: (s: string) => (out += s) }, short);
  for (const r of reports) w.result(r);
  w.end(ok);
  return out;
}

describe('check output', () => {
  it('prints categories with underlines, marks, indented reasons and hints, and the verdict', () => {
    expect(table(false, false)).toBe(
      [
        'kubernetes-api',
        '--------------',
        '√ can initialize the client',
        '√ can query the Kubernetes API',
        '',
        'trellis-identity',
        '----------------',
        '‼ issuer cert is valid for at least 60 days',
        '    "identity.trellis.cluster.local" expires at 2027-01-01T00:00:00.000Z (in 39 days)',
        '    see: rotate the issuer',
        '',
        'trellis-existence',
        '-----------------',
        '× control plane pods are ready',
        '    pod/a is not ready (Pending)',
        '    pod/b is not ready (Pending)',
        '    see: kubectl -n trellis get pods',
        '',
        'Status check results are ×',
        '',
      ].join('\n'),
    );
  });

  it('short output leaves out what passed', () => {
    const out = table(true, false);
    expect(out).not.toContain('kubernetes-api');
    expect(out).toContain('‼ issuer cert is valid for at least 60 days');
    expect(out.endsWith('\nStatus check results are ×\n')).toBe(true);
  });

  it('short output of a clean run is only the verdict', () => {
    let out = '';
    const w = tableWriter({ write: (s: string) => (out += s) }, true);
    w.result(reports[0] as CheckReport);
    w.end(true);
    expect(out).toBe('Status check results are √\n');
  });

  it('JSON groups checks by category with success / warning / error results', () => {
    const j = JSON.parse(renderJson(reports, false));
    expect(j.success).toBe(false);
    expect(j.categories.map((c: { categoryName: string }) => c.categoryName)).toEqual(['kubernetes-api', 'trellis-identity', 'trellis-existence']);
    expect(j.categories[0].checks[0]).toEqual({ description: 'can initialize the client', result: 'success' });
    expect(j.categories[1].checks[0].result).toBe('warning');
    expect(j.categories[2].checks[0]).toMatchObject({ result: 'error', hint: 'kubectl -n trellis get pods', error: 'pod/a is not ready (Pending)\npod/b is not ready (Pending)' });
  });

  it('on a terminal colours the marks and shows what it waits for and the time left, erased before the result', () => {
    let out = '';
    const w = tableWriter({ write: (s: string) => (out += s) }, false, styleFor(true, {}));
    w.waiting('control plane pods are ready', 272_000);
    w.waiting('control plane pods are ready', 5_000);
    w.result({ category: 'trellis-existence', description: 'control plane pods are ready', outcome: { status: 'ok' } });
    w.end(true);
    expect(out).toBe(
      '… control plane pods are ready (waiting, 4m32s left)' +
      '\r\x1b[2K… control plane pods are ready (waiting, 5s left)' +
      [
        '\r\x1b[2Ktrellis-existence',
        '-----------------',
        '\x1b[32m√\x1b[0m control plane pods are ready',
        '',
        'Status check results are \x1b[32m√\x1b[0m',
        '',
      ].join('\n'),
    );
  });

  it('never colours under NO_COLOR, and writes neither colour nor progress into a pipe', () => {
    expect(styleFor(true, { NO_COLOR: '1' })).toEqual({ colour: false, progress: true });
    expect(styleFor(false, {})).toEqual({ colour: false, progress: false });
    let out = '';
    const w = tableWriter({ write: (s: string) => (out += s) }, false, styleFor(false, {}));
    w.waiting('control plane pods are ready', 5_000);
    w.result({ category: 'a', description: 'x', outcome: { status: 'fail' } });
    w.end(false);
    expect(out).toBe('a\n-\n× x\n\nStatus check results are ×\n');
  });
});
