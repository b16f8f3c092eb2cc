// The interop tests' server app, run in a pod from the e2e peers image: see ports.ts for what listens where.
import { hostname } from 'node:os';
import { rawHttpServer } from './raw-http.ts';
import { grpcEchoServer } from './grpc-echo.ts';
import { bannerServer } from './banner.ts';
import { PEER_PORTS } from './ports.ts';

rawHttpServer().listen(PEER_PORTS.http);
await grpcEchoServer(PEER_PORTS.grpc);
bannerServer(hostname()).listen(PEER_PORTS.banner);
process.on('SIGTERM', () => process.exit(0));
console.log(`interop peer ${hostname()}: http ${PEER_PORTS.http}, grpc ${PEER_PORTS.grpc}, banner ${PEER_PORTS.banner}`);
