import { destination, tcpAddress } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import { EndpointSet, type Endpoint } from './endpoints.ts';

const ID = 'emoji.emojivoto.serviceaccount.identity.trellis.cluster.local';
const wa = (ip: string, port: number, extra: Parameters<typeof destination.WeightedAddr.fromPartial>[0] = {}) =>
  destination.WeightedAddr.fromPartial({ addr: tcpAddress(ip, port), weight: 10000, ...extra });
const add = (...addrs: destination.WeightedAddr[]) => destination.Update.fromPartial({ update: { $case: 'add', value: { addrs, metricLabels: { namespace: 'emojivoto', service: 'emoji-svc' } } } });
const remove = (...addrs: [string, number][]) => destination.Update.fromPartial({ update: { $case: 'remove', value: { addrs: addrs.map(([ip, p]) => tcpAddress(ip, p)) } } });

function watch(set: EndpointSet) {
  const log: string[] = [];
  set.on('add', (e: Endpoint) => log.push(`+${e.addr}`));
  set.on('remove', (e: Endpoint) => log.push(`-${e.addr}`));
  return log;
}

describe('EndpointSet', () => {
  it('reads identity, SNI, hints and merged labels from an add', () => {
    const set = new EndpointSet('emoji-svc.emojivoto.svc.cluster.local:8080');
    set.apply(
      add(
        wa('10.0.0.5', 8080, {
          metricLabels: { pod: 'emoji-1', service: 'overridden' },
          tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: ID } } },
          protocolHint: { protocol: { $case: 'h2', value: {} }, opaqueTransport: { inboundPort: 4143 } },
        }),
      ),
      true,
    );
    expect([...set.all()][0]).toMatchObject({ addr: '10.0.0.5:8080', identity: ID, serverName: ID, hint: 'h2', opaqueTransportPort: 4143, labels: { namespace: 'emojivoto', service: 'overridden', pod: 'emoji-1' } });
    expect(set.isReady).toBe(true);
  });
  it('adds, replaces changed endpoints, ignores unchanged ones and removes', () => {
    const set = new EndpointSet('a:80');
    const log = watch(set);
    set.apply(add(wa('10.0.0.1', 80), wa('10.0.0.2', 80)), true);
    set.apply(add(wa('10.0.0.2', 80)), false);
    set.apply(add(wa('10.0.0.2', 80, { weight: 5 })), false);
    set.apply(remove(['10.0.0.1', 80], ['10.0.0.9', 80]), false);
    expect(log).toEqual(['+10.0.0.1:80', '+10.0.0.2:80', '-10.0.0.2:80', '+10.0.0.2:80', '-10.0.0.1:80']);
  });
  it('treats the first message after a reconnect as the whole set', () => {
    const set = new EndpointSet('a:80');
    const log = watch(set);
    set.apply(add(wa('10.0.0.1', 80), wa('10.0.0.2', 80)), true);
    set.apply(add(wa('10.0.0.2', 80), wa('fd00::3', 80)), true);
    expect(log).toEqual(['+10.0.0.1:80', '+10.0.0.2:80', '-10.0.0.1:80', '+[fd00::3]:80']);
  });
  it('empties on no_endpoints', () => {
    const set = new EndpointSet('a:80');
    set.apply(add(wa('10.0.0.1', 80)), true);
    set.apply(destination.Update.fromPartial({ update: { $case: 'noEndpoints', value: { exists: true } } }), false);
    expect(set.size).toBe(0);
  });
});
