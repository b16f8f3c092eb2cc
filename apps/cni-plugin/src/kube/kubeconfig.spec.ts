import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKubeconfig } from './kubeconfig.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-cni-kubeconfig-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};
const config = (cluster: string, user: string) => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {${cluster}}}]
users: [{name: u, user: {${user}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;

describe("the plugin's kubeconfig", () => {
  it('reads certificate files relative to the kubeconfig, and a token file', async () => {
    await write('ca.crt', 'CA');
    await write('token', 'secret\n');
    const access = await readKubeconfig(await write('files', config('server: "https://10.0.0.1:6443", certificate-authority: ca.crt', 'tokenFile: token')));
    expect([access.server.href, access.ca?.toString(), access.token, access.insecure]).toEqual(['https://10.0.0.1:6443/', 'CA', 'secret', false]);
  });

  it.each([
    ['missing', undefined, /cannot read the kubeconfig .*missing: ENOENT/],
    ['no-context', 'apiVersion: v1\nkind: Config\n', /no-context: current-context is not set/],
    ['no-server', config('insecure-skip-tls-verify: true', 'token: t'), /no-server: the cluster has no server/],
    ['bad-server', config('server: "not a url"', 'token: t'), /bad-server: server "not a url" is not a URL/],
    ['bad-ca', config('server: "https://h", certificate-authority: /nonexistent/ca.crt', 'token: t'), /bad-ca: cannot read certificate-authority \/nonexistent\/ca.crt/],
  ])('names the file and the problem: %s', async (name, text, message) => {
    const path = text === undefined ? join(dir, name) : await write(name, text);
    await expect(readKubeconfig(path)).rejects.toThrow(message);
  });
});
