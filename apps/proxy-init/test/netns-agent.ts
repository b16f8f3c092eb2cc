// A small program the namespace tests run inside network namespaces (as a real child process, possibly as
// another uid). "serve" answers every connection with one JSON line saying which listener accepted it and
// what @trellis/net reads as its original destination; "connect" prints the answer it gets.
//
//   node netns-agent.ts serve 4143,4190,dual:4140   (dual: one dual-stack listener; otherwise one per family)
//   node netns-agent.ts connect <host> <port>
import { connect, createServer, type Socket } from 'node:net';
import { NotRedirectedError, originalDestination } from '@trellis/net';

export interface AgentAnswer {
  readonly listener: number;
  readonly remoteAddress: string | undefined;
  readonly original: { address: string; port: number; family: number } | { notRedirected: true } | { error: string };
}

function answer(port: number, socket: Socket): AgentAnswer {
  let original: AgentAnswer['original'];
  try {
    original = originalDestination(socket);
  } catch (err) {
    original = err instanceof NotRedirectedError ? { notRedirected: true } : { error: (err as Error).message };
  }
  return { listener: port, remoteAddress: socket.remoteAddress, original };
}

async function serve(spec: string): Promise<void> {
  const listens = spec.split(',').flatMap((item) => {
    const dual = item.startsWith('dual:');
    const port = Number(dual ? item.slice(5) : item);
    return dual
      ? [{ port, host: '::', ipv6Only: false }]
      : [
          { port, host: '0.0.0.0', ipv6Only: false },
          { port, host: '::', ipv6Only: true },
        ];
  });
  await Promise.all(
    listens.map(
      ({ port, host, ipv6Only }) =>
        new Promise<void>((resolve, reject) => {
          const server = createServer((socket) => socket.end(JSON.stringify(answer(port, socket)) + '\n'));
          server.once('error', reject);
          server.listen({ port, host, ipv6Only }, () => resolve());
        }),
    ),
  );
  process.stdout.write('ready\n');
  // The test ends us by closing stdin (or by a signal).
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

function connectOnce(host: string, port: number): void {
  const chunks: Buffer[] = [];
  const socket = connect({ host, port });
  socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
  socket.on('data', (b: Buffer) => chunks.push(b));
  socket.on('end', () => process.stdout.write(Buffer.concat(chunks).toString()));
  socket.on('error', (err: NodeJS.ErrnoException) => process.stdout.write(JSON.stringify({ error: err.code ?? err.message }) + '\n'));
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'serve' && a) await serve(a);
else if (mode === 'connect' && a && b) connectOnce(a, Number(b));
else {
  process.stderr.write('usage: netns-agent.ts serve PORTS | connect HOST PORT\n');
  process.exit(2);
}
