import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture(format: 'json' | 'plain') {
  const out = new PassThrough();
  const lines: string[] = [];
  out.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  return { log: createLogger({ name: 'identity', level: 'info', format, destination: out }), lines };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('createLogger', () => {
  it('writes JSON records with level names, ISO time and the component', async () => {
    const { log, lines } = capture('json');
    log.info({ identity: 'a.b' }, 'issued');
    await flush();
    const rec = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 'info', component: 'identity', identity: 'a.b', msg: 'issued' });
    expect(String(rec['time'])).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('redacts secret-looking fields even when a caller passes them', async () => {
    const { log, lines } = capture('json');
    log.warn({ token: 'eyJhbGciOi.secret', req: { authorization: 'Bearer x', key: 'k' } }, 'oops');
    await flush();
    expect(lines[0]).not.toMatch(/eyJhbGciOi|Bearer x|"k"/);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ token: '[redacted]', req: { authorization: '[redacted]', key: '[redacted]' } });
  });

  it('writes one readable line per record in plain format', async () => {
    const { log, lines } = capture('plain');
    log.info({ identity: 'a.b', reason: 'two words' }, 'issued');
    log.debug('not shown at info');
    await flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+ INFO {2}identity: issued identity=a\.b reason="two words"$/);
  });
});
