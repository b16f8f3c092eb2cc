import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../errors.ts';
import { parseContextToken, parseHostPort, parseTarget } from './authority.ts';

describe('parseTarget', () => {
  it('reads a service name with the default port 80 and an explicit port', () => {
    expect(parseTarget('web.emojivoto.svc.cluster.local', 'cluster.local')).toEqual({ kind: 'service', namespace: 'emojivoto', name: 'web', port: 80, instance: undefined });
    expect(parseTarget('web.emojivoto.svc.cluster.local.:8080', 'cluster.local')).toMatchObject({ name: 'web', port: 8080 });
  });

  it('reads a StatefulSet instance name', () => {
    expect(parseTarget('db-0.db.data.svc.cluster.local:5432', 'cluster.local')).toEqual({ kind: 'service', namespace: 'data', name: 'db', port: 5432, instance: 'db-0' });
  });

  it('recognises IPv4 and bracketed IPv6 targets', () => {
    expect(parseTarget('10.0.0.1:80', 'cluster.local')).toEqual({ kind: 'ip', ip: '10.0.0.1', port: 80 });
    expect(parseTarget('[fd00::1]:8080', 'cluster.local')).toEqual({ kind: 'ip', ip: 'fd00::1', port: 8080 });
  });

  it.each(['example.com:80', 'web.svc.cluster.local', 'a.b.c.d.svc.cluster.local', 'web.ns.svc.other.domain', 'web.ns.svc.cluster.local:0', 'web.ns.svc.cluster.local:70000', 'web.ns.svc.cluster.local:http', ':80', 'a:b:c'])(
    'rejects %s as an invalid argument',
    (path) => {
      expect(() => parseTarget(path, 'cluster.local')).toThrow(InvalidRequestError);
    },
  );

  it('names the bad port in the error', () => {
    expect(() => parseHostPort('web:70000')).toThrow(/port "70000", expected 1..65535/);
  });
});

describe('parseContextToken', () => {
  it('reads the JSON token and the legacy ns: form', () => {
    expect(parseContextToken('{"ns":"a","nodeName":"n1","pod":"p"}')).toEqual({ ns: 'a', nodeName: 'n1', pod: 'p' });
    expect(parseContextToken('ns:emojivoto')).toEqual({ ns: 'emojivoto', nodeName: undefined, pod: undefined });
  });

  it.each(['{garbage', '[1,2]', '"str"', 'null', 'whatever'])('treats %s as no token', (token) => {
    expect(parseContextToken(token)).toEqual({ ns: undefined, nodeName: undefined, pod: undefined });
  });
});
