// The emoji service: lists the catalogue and finds an emoji by its shortcode.
import { Server, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';
import { EMOJIS } from '../emojis.ts';
import { callsByClient } from '../metrics.ts';
import { emojiService, type Emoji } from '../proto.ts';

export function emojiServer(registry: Registry): Server {
  const calls = new Counter({ name: 'emoji_requests_total', help: 'emoji service calls', labelNames: ['method'], registers: [registry] });
  const byClient = callsByClient(registry);
  const server = new Server();
  server.addService(emojiService, {
    ListAll: (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<{ list: readonly Emoji[] }>) => {
      calls.inc({ method: 'ListAll' });
      byClient('ListAll', call.metadata);
      cb(null, { list: EMOJIS });
    },
    FindByShortcode: (call: ServerUnaryCall<{ shortcode: string }, unknown>, cb: sendUnaryData<{ emoji?: Emoji }>) => {
      calls.inc({ method: 'FindByShortcode' });
      byClient('FindByShortcode', call.metadata);
      const emoji = EMOJIS.find((e) => e.shortcode === call.request.shortcode);
      if (!emoji) return cb({ code: status.NOT_FOUND, details: `no emoji ${JSON.stringify(call.request.shortcode)}` });
      cb(null, { emoji });
    },
  });
  return server;
}
