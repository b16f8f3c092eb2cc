// voting: the ballot box (gRPC on GRPC_PORT, metrics on PROM_PORT).
import { Registry } from 'prom-client';
import { closeGrpc, listenGrpc } from '../grpc.ts';
import { envPort, serve } from '../config.ts';
import { startAdmin } from '../metrics.ts';
import { votingServer } from './server.ts';

await serve('voting', async () => {
  const grpcPort = envPort(process.env, 'GRPC_PORT', 8080);
  const promPort = envPort(process.env, 'PROM_PORT', 8801);
  const registry = new Registry();
  const server = votingServer(registry);
  await listenGrpc(server, grpcPort);
  const admin = await startAdmin(registry, promPort);
  process.stdout.write(`voting: gRPC on :${grpcPort}, metrics on :${promPort}\n`);
  return async () => {
    admin.close();
    await closeGrpc(server);
  };
});
