import { describe, expect, it } from 'vitest';
import { downgradeHost, downgradeTarget, parseOrigProto } from './orig-proto.ts';

describe('l5d-orig-proto', () => {
  it('downgrades to one Host: the host header when the upgrade kept it, else :authority', () => {
    expect(downgradeHost({ ':authority': 'a:80', host: 'b:80' })).toBe('b:80');
    expect(downgradeHost({ ':authority': 'a:80', host: ['b:80', 'c:80'] })).toBe('b:80');
    expect(downgradeHost({ ':authority': 'a:80', host: '' })).toBe('a:80');
    expect(downgradeHost({ ':authority': 'a:80' })).toBe('a:80');
    expect(downgradeHost({})).toBeUndefined();
  });
  it('reads the header on the far side and restores absolute form', () => {
    expect(parseOrigProto('HTTP/1.1')).toEqual({ httpVersion: '1.1', absoluteForm: false });
    const d = parseOrigProto('HTTP/1.0; absolute-form');
    expect(d).toEqual({ httpVersion: '1.0', absoluteForm: true });
    expect(downgradeTarget(d as never, { ':scheme': 'http', ':authority': 'b:80', ':path': '/x' })).toBe('http://b:80/x');
    expect(parseOrigProto('HTTP/2')).toBeUndefined();
  });
});
