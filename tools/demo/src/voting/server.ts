// The voting service: counts votes per shortcode. A vote for the doughnut fails on purpose: it is the demo's bug,
// the one golden metrics reveal.
import { Server, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';
import { BROKEN_SHORTCODE } from '../emojis.ts';
import { callsByClient } from '../metrics.ts';
import { votingService, type VotingResult } from '../proto.ts';

export function votingServer(registry: Registry): Server {
  const votes = new Map<string, number>();
  const counter = new Counter({ name: 'votes_total', help: 'votes received', labelNames: ['result'], registers: [registry] });
  const byClient = callsByClient(registry);
  const server = new Server();
  server.addService(votingService, {
    Vote: (call: ServerUnaryCall<{ shortcode: string }, unknown>, cb: sendUnaryData<object>) => {
      byClient('Vote', call.metadata);
      const shortcode = call.request.shortcode;
      if (shortcode === BROKEN_SHORTCODE) {
        counter.inc({ result: 'failure' });
        return cb({ code: status.UNKNOWN, details: `cannot vote for ${shortcode}` });
      }
      if (!/^:[a-z0-9_]+:$/.test(shortcode)) {
        counter.inc({ result: 'invalid' });
        return cb({ code: status.INVALID_ARGUMENT, details: `not a shortcode: ${JSON.stringify(shortcode)}` });
      }
      votes.set(shortcode, (votes.get(shortcode) ?? 0) + 1);
      counter.inc({ result: 'success' });
      cb(null, {});
    },
    Results: (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<{ results: VotingResult[] }>) => {
      byClient('Results', call.metadata);
      const results = [...votes].map(([s, v]) => ({ shortcode: s, votes: v })).sort((a, b) => b.votes - a.votes || a.shortcode.localeCompare(b.shortcode));
      cb(null, { results });
    },
  });
  return server;
}
