import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

const capture = () => {
  const lines: string[] = [];
  return { lines, out: { write: (s: string) => lines.push(s) } };
};

describe('proxy-init logs', () => {
  it('writes logrus-style plain lines', () => {
    const { lines, out } = capture();
    createLogger('plain', 'info', out).info({ stage: 'before (IPv4)' }, '/sbin/iptables-legacy-save -t nat');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^time="\d{4}-\d\d-\d\dT[^"]+" level=info msg="\/sbin\/iptables-legacy-save -t nat" stage="before \(IPv4\)"\n$/);
  });

  it('escapes multi-line messages so one entry stays one line', () => {
    const { lines, out } = capture();
    createLogger('plain', 'info', out).info('*nat\nCOMMIT\n');
    expect(lines[0]).toContain('msg="*nat\\nCOMMIT\\n"');
  });

  it('writes one JSON object per line with a level name', () => {
    const { lines, out } = capture();
    createLogger('json', 'info', out).warn('careful');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'warn', msg: 'careful' });
  });

  it('drops entries below the level', () => {
    const { lines, out } = capture();
    const log = createLogger('plain', 'warn', out);
    log.info('hidden');
    log.error('shown');
    expect(lines).toHaveLength(1);
  });
});
