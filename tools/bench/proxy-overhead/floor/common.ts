// Shared by the floor proxies: their targets (the bench passes FLOOR_OUT/FLOOR_IN, ip:port) and the admin
// listener whose start line the bench waits for.
import { createServer } from 'node:http';

export function targets(): [number, string, number][] {
  return [
    [4140, process.env['FLOOR_OUT'] ?? ''],
    [4143, process.env['FLOOR_IN'] ?? ''],
  ].map(([listen, target]) => {
    const [host, port] = String(target).split(':');
    return [Number(listen), host ?? '', Number(port)];
  });
}

export function listening(): void {
  createServer((_req, res) => res.end('ok')).listen(4191, '0.0.0.0', () => process.stdout.write('proxy listening\n'));
}
