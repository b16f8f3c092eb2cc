// Real redirection: a pod-like namespace, joined to a peer namespace by a veth pair, programmed by proxy-init
// with the injector's default arguments. Needs root (network namespaces, iptables). Only the addresses
// assigned here, inside these two namespaces, ever carry traffic.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INJECTOR_DEFAULT_ARGS } from '@trellis/iptables';
import { addNetns, connectFrom, must, proxyInit, removeNetns, startAgent, stopAgent, uniqueName } from './netns.ts';

const POD = { v4: '10.244.77.2', v6: 'fd00:4143::2' };
const PEER = { v4: '10.244.77.1', v6: 'fd00:4143::1' };

const podNs = uniqueName('pod');
const peerNs = uniqueName('peer');
const agents: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  try {
    const podPath = await addNetns(podNs);
    await addNetns(peerNs);
    await must('ip', '-n', podNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peerNs);
    for (const [ns, addr] of [
      [podNs, POD],
      [peerNs, PEER],
    ] as const) {
      await must('ip', '-n', ns, 'addr', 'add', `${addr.v4}/24`, 'dev', 'eth0');
      await must('ip', '-n', ns, 'addr', 'add', `${addr.v6}/64`, 'dev', 'eth0', 'nodad');
      await must('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    }
    const init = await proxyInit('--netns', podPath, ...INJECTOR_DEFAULT_ARGS);
    if (init.code !== 0) throw new Error(`proxy-init failed: ${init.stdout}${init.stderr}`);
    // The pod: the proxy's outbound port as one dual-stack listener (IPv4 peers arrive IPv4-mapped), its inbound
    // port and the ignored ports as one listener per family, and an app port reached over loopback.
    agents.push(await startAgent(podNs, 'dual:4140,4143,4190,4191,9000'));
    agents.push(await startAgent(peerNs, '8080,4567,80'));
  } catch (err) {
    await Promise.all(agents.map(stopAgent));
    await removeNetns(podNs, peerNs);
    throw err;
  }
}, 60_000);

afterAll(async () => {
  try {
    await Promise.all(agents.map(stopAgent));
  } finally {
    await removeNetns(podNs, peerNs);
  }
});

describe.each([
  ['IPv4', 4, POD.v4, PEER.v4, '127.0.0.1'],
  ['IPv6', 6, POD.v6, PEER.v6, '::1'],
] as const)('redirection over %s', (_name, family, pod, peer, loopback) => {
  it('sends an outbound connection to the peer to the proxy on 4140, with the peer as original destination', async () => {
    expect(await connectFrom(podNs, peer, 8080)).toMatchObject({ listener: 4140, original: { address: peer, port: 8080, family } });
  });

  it("lets the proxy's own uid 2102 reach the peer directly", async () => {
    expect(await connectFrom(podNs, peer, 8080, 2102)).toMatchObject({ listener: 8080, original: { notRedirected: true } });
  });

  it('still redirects a process running as any other uid (1000)', async () => {
    expect(await connectFrom(podNs, peer, 8080, 1000)).toMatchObject({ listener: 4140 });
  });

  it('leaves loopback traffic alone', async () => {
    expect(await connectFrom(podNs, loopback, 9000)).toMatchObject({ listener: 9000, original: { notRedirected: true } });
  });

  it('leaves ignored outbound ports alone', async () => {
    expect(await connectFrom(podNs, peer, 4567)).toMatchObject({ listener: 4567, original: { notRedirected: true } });
  });

  it('sends an inbound connection to the pod to the proxy on 4143, with the pod port as original destination', async () => {
    expect(await connectFrom(peerNs, pod, 80)).toMatchObject({ listener: 4143, original: { address: pod, port: 80, family } });
  });

  it.each([4190, 4191])('leaves inbound port %i (proxy tap/admin) alone', async (port) => {
    expect(await connectFrom(peerNs, pod, port)).toMatchObject({ listener: port, original: { notRedirected: true } });
  });

  it('sees a direct connection to the inbound proxy port as not redirected', async () => {
    expect(await connectFrom(peerNs, pod, 4143)).toMatchObject({ listener: 4143, original: { notRedirected: true } });
  });
});
