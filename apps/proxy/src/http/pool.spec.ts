import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import { EndpointAgent, type PoolRequestArgs } from './pool.ts';

const server = createServer((_req, res) => res.end('ok'));
afterAll(() => server.close());

describe('EndpointAgent', () => {
  it('reuses an idle connection, and closes it once it has been idle for the idle timeout', async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const metrics = new ProxyMetrics();
    const entry = new TargetCache(metrics, 'all-unauthenticated').get('outbound', '127.0.0.1', port, false);
    const agent = new EndpointAgent({ keepAlive: true }, 1000, 3000);
    const get = () =>
      new Promise<void>((resolve, reject) => {
        const args: PoolRequestArgs = { host: '127.0.0.1', port, path: '/', agent, trellisTarget: entry };
        const req = request(args, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    await get();
    await get();
    expect(entry.dstTcp.open.value).toBe(1);
    await expect.poll(() => Object.values(agent.freeSockets).flat().length).toBe(1);
    const free = Object.values(agent.freeSockets).flat();
    agent.closeIdle(Date.now() + 2000);
    expect(free[0]?.destroyed).toBe(false);
    agent.closeIdle(Date.now() + 3000);
    await expect.poll(() => Object.values(agent.freeSockets).flat().length).toBe(0);
    agent.destroy();
  });
});
