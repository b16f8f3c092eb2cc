// The plugin's kubeconfig (written by the installer: the API server's address and CA, and a service account
// token), read into what one HTTPS request needs. Files named in it are read here; errors name the file and key.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';

export interface ApiAccess {
  readonly server: URL;
  readonly ca: Buffer | undefined;
  readonly insecure: boolean;
  readonly token: string | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

export class KubeconfigError extends Error {}

type Entry = Record<string, unknown>;
const isObject = (v: unknown): v is Entry => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Entry, k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? o[k] : undefined);

function named(doc: Entry, list: string, name: string, field: string, path: string): Entry {
  const items = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
  const item = items.find((i): i is Entry => isObject(i) && i['name'] === name);
  const inner = item?.[field];
  if (!isObject(inner)) throw new KubeconfigError(`${path}: no ${list} entry named ${JSON.stringify(name)}`);
  return inner;
}

export async function readKubeconfig(path: string): Promise<ApiAccess> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`cannot read the kubeconfig ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new KubeconfigError(`${path} is not YAML: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new KubeconfigError(`${path} is not a kubeconfig`);
  const contextName = str(doc, 'current-context');
  if (!contextName) throw new KubeconfigError(`${path}: current-context is not set`);
  const context = named(doc, 'contexts', contextName, 'context', path);
  const cluster = named(doc, 'clusters', String(context['cluster']), 'cluster', path);
  const user = named(doc, 'users', String(context['user']), 'user', path);
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(dirname(path), p));
  const data = async (o: Entry, key: string): Promise<Buffer | undefined> => {
    const inline = str(o, `${key}-data`);
    if (inline) return Buffer.from(inline, 'base64');
    const file = str(o, key);
    if (!file) return undefined;
    try {
      return await readFile(rel(file));
    } catch (err) {
      throw new KubeconfigError(`${path}: cannot read ${key} ${file}: ${(err as Error).message}`);
    }
  };
  const serverText = str(cluster, 'server');
  if (!serverText) throw new KubeconfigError(`${path}: the cluster has no server`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw new KubeconfigError(`${path}: server ${JSON.stringify(serverText)} is not a URL`);
  }
  const tokenFile = str(user, 'tokenFile');
  const token = str(user, 'token') ?? (tokenFile ? (await readFile(rel(tokenFile), 'utf8')).trim() : undefined);
  return {
    server,
    ca: await data(cluster, 'certificate-authority'),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    token,
    cert: await data(user, 'client-certificate'),
    key: await data(user, 'client-key'),
  };
}
