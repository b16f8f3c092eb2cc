// The one kubelet endpoint the node agent serves: GET /containerLogs/<ns>/<pod>/<container>, which the API server
// calls for `kubectl logs` (with follow, tailLines and limitBytes). HTTPS on the bridge address, and only clients with
// a certificate from the cluster CA (the API server) are let in, so pods cannot read each other's logs.
import { createServer, type Server } from 'node:https';
import { open, readdir, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';

export interface LogServerOptions {
  readonly podsDir: string;
  readonly host: string;
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
}

/** Path of a container's log file in the newest pod directory of that name. */
export async function containerLogPath(podsDir: string, ns: string, pod: string, container: string): Promise<string | undefined> {
  const prefix = `${ns}_${pod}_`;
  const dirs = (await readdir(podsDir).catch(() => [] as string[])).filter((d) => d.startsWith(prefix) && !d.slice(prefix.length).includes('_'));
  let best: { path: string; t: number } | undefined;
  for (const d of dirs) {
    const path = join(podsDir, d, `${container}.log`);
    const t = (await stat(path).catch(() => undefined))?.mtimeMs;
    if (t !== undefined && (!best || t > best.t)) best = { path, t };
  }
  return best?.path;
}

/** The last n lines of text. */
export function tailLines(text: string, n: number): string {
  const lines = text.split('\n');
  const last = lines.at(-1) === '' ? lines.slice(0, -1) : lines;
  return last.slice(Math.max(0, last.length - n)).map((l) => `${l}\n`).join('');
}

async function streamLog(path: string, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const fh = await open(path, 'r');
  try {
    let pos = 0;
    const all = (await fh.readFile()).toString('utf8');
    pos = Buffer.byteLength(all);
    let text = query.has('tailLines') ? tailLines(all, Math.max(0, Number(query.get('tailLines')))) : all;
    const limit = query.has('limitBytes') ? Number(query.get('limitBytes')) : Infinity;
    if (Buffer.byteLength(text) > limit) text = Buffer.from(text).subarray(0, limit).toString('utf8');
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.write(text);
    if (query.get('follow') !== 'true') return;
    let closed = false;
    res.on('close', () => (closed = true));
    while (!closed) {
      await new Promise((r) => setTimeout(r, 300));
      const size = (await fh.stat()).size;
      if (size > pos) {
        const buf = Buffer.alloc(size - pos);
        await fh.read(buf, 0, buf.length, pos);
        pos = size;
        res.write(buf);
      }
    }
  } finally {
    await fh.close();
    res.end();
  }
}

export function startLogServer(opts: LogServerOptions): Promise<{ server: Server; port: number }> {
  const server = createServer(
    { ca: readFileSync(opts.caCert), cert: readFileSync(opts.cert), key: readFileSync(opts.key), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://node');
      const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (req.method !== 'GET' || !m) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`the trellis node agent serves only GET /containerLogs/<ns>/<pod>/<container>\n`);
        return;
      }
      const [ns, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
      void containerLogPath(opts.podsDir, ns, pod, container)
        .then((path) => {
          if (!path) {
            res.writeHead(404, { 'content-type': 'text/plain' }).end(`no logs of container ${container} in pod ${ns}/${pod} on this node\n`);
            return;
          }
          return streamLog(path, url.searchParams, res);
        })
        .catch((err: Error) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`${err.message}\n`);
        });
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host, () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}
