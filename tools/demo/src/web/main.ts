// web: the page and JSON API (HTTP on WEB_PORT), calling EMOJISVC_HOST and VOTINGSVC_HOST over gRPC.
import { Registry } from 'prom-client';
import { insecure } from '../grpc.ts';
import { EmojiServiceClient, VotingServiceClient } from '../proto.ts';
import { envHostPort, envPort, serve } from '../config.ts';
import { webServer } from './server.ts';

await serve('web', async () => {
  const port = envPort(process.env, 'WEB_PORT', 8080);
  const emoji = new EmojiServiceClient(envHostPort(process.env, 'EMOJISVC_HOST'), insecure());
  const voting = new VotingServiceClient(envHostPort(process.env, 'VOTINGSVC_HOST'), insecure());
  const registry = new Registry();
  const server = webServer({ emoji, voting, registry });
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
  process.stdout.write(`web: HTTP on :${port}\n`);
  return async () => {
    // Keep-alive clients (vote-bot) would hold close() open until the grace period ends: close idle ones now and
    // the rest after in-flight requests had a moment to finish.
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
    await closed;
    emoji.close();
    voting.close();
  };
});
