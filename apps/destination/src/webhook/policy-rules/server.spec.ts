import { describe, expect, it } from 'vitest';
import type { CustomObject } from '../../index/model.ts';
import { serverProblem, serverSpecProblem } from './server.ts';

const web = { podSelector: { matchLabels: { app: 'web' } }, port: 'http', proxyProtocol: 'HTTP/1' };

describe('serverSpecProblem', () => {
  it.each([[web], [{ podSelector: {}, port: 8080 }], [{ externalWorkloadSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, port: 443, accessPolicy: 'deny' }]])('admits %j', (spec) => {
    expect(serverSpecProblem(spec)).toBeUndefined();
  });

  it.each([
    [{ port: 80 }, 'spec.podSelector is required (or spec.externalWorkloadSelector)'],
    [{ podSelector: {}, externalWorkloadSelector: {}, port: 80 }, 'spec.podSelector and spec.externalWorkloadSelector are both set'],
    [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['web'] }] }, port: 80 }, 'spec.podSelector.matchExpressions[0].operator: "Equals" is not one of'],
    [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] }, port: 80 }, 'spec.podSelector.matchExpressions[0].values: operator In needs at least one value'],
    [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] }, port: 80 }, 'operator Exists takes no values'],
    [{ podSelector: { matchLabels: { app: 1 } }, port: 80 }, 'spec.podSelector.matchLabels must map label names to strings'],
    [{ podSelector: {} }, 'spec.port is required'],
    [{ podSelector: {}, port: 0 }, 'spec.port: 0 is not a port'],
    [{ podSelector: {}, port: 'HTTP' }, 'spec.port: "HTTP" is neither a port number nor a container port name'],
    [{ podSelector: {}, port: 'a-very-long-port-name' }, 'is neither a port number nor a container port name'],
    [{ podSelector: {}, port: 80, proxyProtocol: 'HTTP/3' }, 'spec.proxyProtocol: "HTTP/3" is not one of'],
    [{ podSelector: {}, port: 80, accessPolicy: 'allow' }, 'spec.accessPolicy: "allow" is not one of all-unauthenticated'],
  ])('refuses %j: %s', (spec, message) => {
    expect(serverSpecProblem(spec)).toContain(message);
  });
});

describe('serverProblem', () => {
  const existing = (name: string, spec: object): CustomObject => ({ metadata: { name, namespace: 'shop' }, spec });
  const list = (...servers: CustomObject[]) => async () => servers;

  it('refuses a Server for a port another Server already claims on the same pods', async () => {
    expect(await serverProblem(web, 'shop', 'web-2', list(existing('web-http', { ...web, proxyProtocol: 'opaque' })))).toBe(
      'spec.podSelector: Server shop/web-http already defines a policy for port http on the workloads this Server selects; change the selector or the port, or edit that Server',
    );
  });

  it('refuses a Server when either one selects every pod', async () => {
    expect(await serverProblem({ podSelector: {}, port: 8080 }, 'shop', 'all', list(existing('web', { podSelector: { matchLabels: { app: 'web' } }, port: 8080 })))).toContain('Server shop/web already defines');
  });

  it('admits other ports, other selectors, other workload kinds and the Server itself on update', async () => {
    const others = list(
      existing('web-admin', { ...web, port: 'admin' }),
      existing('emoji-http', { ...web, podSelector: { matchLabels: { app: 'emoji' } } }),
      existing('vm-http', { externalWorkloadSelector: {}, port: 'http' }),
      existing('web-2', web),
    );
    expect(await serverProblem(web, 'shop', 'web-2', others)).toBeUndefined();
  });

  it('does not ask the API server when the spec alone is wrong', async () => {
    const fail = async () => {
      throw new Error('must not be called');
    };
    expect(await serverProblem({ port: 80 }, 'shop', 'x', fail)).toContain('spec.podSelector is required');
  });
});
