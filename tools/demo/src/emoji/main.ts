// emoji: the catalogue service (gRPC on GRPC_PORT, metrics on PROM_PORT).
import { Registry } from 'prom-client';
import { closeGrpc, listenGrpc } from '../grpc.ts';
import { envPort, serve } from '../config.ts';
import { startAdmin } from '../metrics.ts';
import { emojiServer } from './server.ts';

await serve('emoji', async () => {
  const grpcPort = envPort(process.env, 'GRPC_PORT', 8080);
  const promPort = envPort(process.env, 'PROM_PORT', 8801);
  const registry = new Registry();
  const server = emojiServer(registry);
  await listenGrpc(server, grpcPort);
  const admin = await startAdmin(registry, promPort);
  process.stdout.write(`emoji: gRPC on :${grpcPort}, metrics on :${promPort}\n`);
  return async () => {
    admin.close();
    await closeGrpc(server);
  };
});
