// The two reads the plugin makes (a pod, and its namespace for annotations set there), as plain HTTPS GETs:
// the data plane does not carry a Kubernetes client library, and one request per object is all it needs.
import { request } from 'node:https';
import type { ApiAccess } from './kubeconfig.ts';

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

export type ApiGet = (path: string) => Promise<ApiAnswer>;

export class ApiUnreachableError extends Error {}

export function apiGetter(access: ApiAccess, timeoutMs = 10_000): ApiGet {
  return (path) =>
    new Promise((resolvePromise, reject) => {
      const url = new URL(path, access.server);
      const req = request(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/json', ...(access.token ? { authorization: `Bearer ${access.token}` } : {}) },
          ...(access.ca ? { ca: access.ca } : {}),
          ...(access.cert ? { cert: access.cert } : {}),
          ...(access.key ? { key: access.key } : {}),
          rejectUnauthorized: !access.insecure,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new ApiUnreachableError(`GET ${url.href}: ${e.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // Not JSON (a proxy's error page): the caller reports the status and the text.
            }
            resolvePromise({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.on('error', (e) => reject(new ApiUnreachableError(`GET ${url.href}: ${e.message}`)));
      req.end();
    });
}
