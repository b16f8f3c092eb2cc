// The interop tests' client, run inside a client pod's network namespace (so its connections take the pod's
// iptables redirect to its proxy). Prints one JSON line:
//   client-main.ts http URL HOST      → {status, body}
//   client-main.ts grpc HOST:PORT     → {code, details?, reply?}
//   client-main.ts banner HOST PORT   → {banner, echo} or {error}
import { request } from 'node:http';
import { callEcho } from './grpc-echo.ts';
import { talkToBanner } from './banner.ts';

function httpGet(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

const [mode, a = '', b = ''] = process.argv.slice(2);
const out = await (async () => {
  try {
    if (mode === 'http') return await httpGet(a, b);
    if (mode === 'grpc') return await callEcho(a, 'hello');
    if (mode === 'banner') return await talkToBanner(a, Number(b), 'ping\n');
    return { error: `unknown mode ${JSON.stringify(mode)}: http URL HOST | grpc HOST:PORT | banner HOST PORT` };
  } catch (err) {
    return { error: String(err) };
  }
})();
console.log(JSON.stringify(out));
