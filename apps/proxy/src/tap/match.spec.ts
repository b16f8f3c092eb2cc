import { describe, expect, it } from 'vitest';
import { ipAddressFromString, type tap } from '@trellis/proto';
import { compileMatch, httpMethodOf, methodName, schemeName, type TapSubject } from './match.ts';

const subject: TapSubject = {
  sourceIp: '10.244.0.10',
  sourcePort: 42658,
  destinationIp: '10.244.0.12',
  destinationPort: 8080,
  destinationLabels: { namespace: 'emojivoto', deployment: 'voting' },
  routeLabels: { route: 'vote' },
  scheme: 'http',
  method: 'POST',
  authority: 'voting-svc.emojivoto:8080',
  path: '/emojivoto.v1.VotingService/VoteDoughnut',
};

type M = tap.ObserveRequest_Match;
const http = (m: tap.ObserveRequest_Match_Http['match']): M => ({ match: { $case: 'http', value: { match: m } } });
const path = (kind: 'exact' | 'prefix', value: string): M => http({ $case: 'path', value: { match: { $case: kind, value } as { $case: 'exact'; value: string } } });
const netmask = (side: 'source' | 'destination', ip: string, mask: number): M => ({ match: { $case: side, value: { match: { $case: 'netmask', value: { ip: ipAddressFromString(ip), mask } } } } });
const ports = (side: 'source' | 'destination', min: number, max: number): M => ({ match: { $case: side, value: { match: { $case: 'ports', value: { min, max } } } } });
const all = (...matches: M[]): M => ({ match: { $case: 'all', value: { matches } } });
const any = (...matches: M[]): M => ({ match: { $case: 'any', value: { matches } } });
const not = (m: M): M => ({ match: { $case: 'not', value: m } });

describe('compileMatch', () => {
  it('matches paths exactly or by prefix, ignoring nothing', () => {
    expect(compileMatch(path('prefix', '/emojivoto.v1.VotingService/'))(subject)).toBe(true);
    expect(compileMatch(path('exact', '/emojivoto.v1.VotingService/VoteDoughnut'))(subject)).toBe(true);
    expect(compileMatch(path('exact', '/emojivoto.v1.VotingService/'))(subject)).toBe(false);
  });

  it('matches method, scheme and authority', () => {
    expect(compileMatch(http({ $case: 'method', value: httpMethodOf('POST') }))(subject)).toBe(true);
    expect(compileMatch(http({ $case: 'method', value: httpMethodOf('GET') }))(subject)).toBe(false);
    expect(compileMatch(http({ $case: 'scheme', value: { type: { $case: 'registered', value: 0 } } }))(subject)).toBe(true);
    expect(compileMatch(http({ $case: 'scheme', value: { type: { $case: 'registered', value: 1 } } }))(subject)).toBe(false);
    expect(compileMatch(http({ $case: 'authority', value: { match: { $case: 'prefix', value: 'voting-svc.' } } }))(subject)).toBe(true);
    expect(compileMatch(http({ $case: 'authority', value: { match: { $case: 'exact', value: 'web-svc' } } }))(subject)).toBe(false);
  });

  it('matches source and destination by netmask and port range', () => {
    expect(compileMatch(netmask('source', '10.244.0.0', 24))(subject)).toBe(true);
    expect(compileMatch(netmask('source', '10.244.1.0', 24))(subject)).toBe(false);
    expect(compileMatch(netmask('destination', '10.244.0.12', 32))(subject)).toBe(true);
    expect(compileMatch(netmask('destination', 'fd00::', 8))(subject)).toBe(false);
    expect(compileMatch(ports('destination', 8080, 0))(subject)).toBe(true);
    expect(compileMatch(ports('destination', 0, 8079))(subject)).toBe(false);
    expect(compileMatch(ports('source', 40000, 50000))(subject)).toBe(true);
  });

  it('matches IPv6 addresses within a netmask', () => {
    const v6 = { ...subject, sourceIp: 'fd00::1:5' };
    expect(compileMatch(netmask('source', 'fd00::', 64))(v6)).toBe(true);
    expect(compileMatch(netmask('source', 'fd01::', 16))(v6)).toBe(false);
  });

  it('matches destination and route labels by key and value', () => {
    const label = (c: 'destinationLabel' | 'routeLabel', key: string, value: string): M => ({ match: { $case: c, value: { key, value } } } as M);
    expect(compileMatch(label('destinationLabel', 'deployment', 'voting'))(subject)).toBe(true);
    expect(compileMatch(label('destinationLabel', 'deployment', 'web'))(subject)).toBe(false);
    expect(compileMatch(label('routeLabel', 'route', 'vote'))(subject)).toBe(true);
  });

  it('combines with all, any and not; an empty all matches and an empty any does not', () => {
    const yes = path('prefix', '/');
    const no = path('exact', '/nope');
    expect(compileMatch(all(yes, yes))(subject)).toBe(true);
    expect(compileMatch(all(yes, no))(subject)).toBe(false);
    expect(compileMatch(any(no, yes))(subject)).toBe(true);
    expect(compileMatch(not(no))(subject)).toBe(true);
    expect(compileMatch(all())(subject)).toBe(true);
    expect(compileMatch(any())(subject)).toBe(false);
  });

  it('refuses trees that cannot be evaluated, naming the part', () => {
    expect(() => compileMatch(undefined)).toThrow(/match with no condition/);
    expect(() => compileMatch(all({ match: undefined }))).toThrow(/match with no condition/);
    expect(() => compileMatch(ports('destination', 0, 0))).toThrow(/port range with no bounds/);
    expect(() => compileMatch(ports('destination', 9000, 80))).toThrow(/9000-80/);
    expect(() => compileMatch(ports('destination', 1, 70000))).toThrow(/1\.\.65535/);
    expect(() => compileMatch(netmask('source', '10.0.0.0', 33))).toThrow(/\/33 is longer than the address \(32 bits\)/);
    expect(() => compileMatch(http(undefined))).toThrow(/http match with no condition/);
  });

  it('names methods and schemes as requests carry them', () => {
    expect(methodName(httpMethodOf('DELETE'))).toBe('DELETE');
    expect(methodName({ type: { $case: 'unregistered', value: 'PURGE' } })).toBe('PURGE');
    expect(schemeName({ type: { $case: 'unregistered', value: 'HTTPS' } })).toBe('https');
  });
});
