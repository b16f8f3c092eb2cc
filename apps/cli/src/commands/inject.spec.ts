import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { goldenText } from '../testing/golden.ts';
import { runCli } from './root.ts';

const testdata = join(import.meta.dirname, '..', '..', 'testdata');
const file = (name: string) => join(testdata, name);

async function cli(argv: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readStdin: async () => stdin,
  });
  return { code, stdout, stderr };
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test fixtures are free-form YAML

describe('trellis inject', () => {
  it('annotates every Deployment of a List read from stdin and reports each in the seeds\' style', async () => {
    const r = await cli(['inject', '-'], readFileSync(file('emojivoto-deployments.yaml'), 'utf8'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('deployment "emoji" injected\ndeployment "vote-bot" injected\ndeployment "voting" injected\ndeployment "web" injected\n\n');
    const list = parse(r.stdout) as Obj;
    expect(list['kind']).toBe('List');
    for (const d of list['items']) expect(d.spec.template.metadata.annotations).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(r.stdout).toBe(goldenText(file('golden/inject-list.yaml'), r.stdout));
  });

  it('with --manual adds linkerd-init and the native-sidecar proxy through the shared injector', async () => {
    writeFileSync(join(tmp(), 'anchors.pem'), '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n');
    const r = await cli(['inject', '--manual', '--ignore-cluster', '--identity-trust-anchors-file', join(tmpDir, 'anchors.pem'), file('emojivoto-deployments.yaml')]);
    expect(r.code).toBe(0);
    const emoji = (parse(r.stdout) as Obj)['items'][0];
    const spec = emoji.spec.template.spec;
    expect(spec.initContainers.map((c: Obj) => c['name'])).toEqual(['linkerd-init', 'linkerd-proxy']);
    expect(spec.initContainers[1].restartPolicy).toBe('Always');
    expect(emoji.spec.template.metadata.annotations['linkerd.io/created-by']).toMatch(/^trellis\/cli /);
    expect(emoji.spec.template.metadata.labels['linkerd.io/proxy-deployment']).toBe('emoji');
    // The PEM stays one literal block rather than being folded.
    expect(r.stdout).toContain('-----BEGIN CERTIFICATE-----\n');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(4);
  });

  it('turns flags into config annotations on the pod template', async () => {
    const r = await cli(['inject', '--ingress', '--opaque-ports', '3306', '--opaque-ports', '4000-4100', '--skip-outbound-ports=443', '--proxy-log-level', 'debug', '--native-sidecar=false', file('emojivoto-deployments.yaml')]);
    expect(r.code).toBe(0);
    const ann = (parse(r.stdout) as Obj)['items'][0].spec.template.metadata.annotations;
    expect(ann).toEqual({
      'linkerd.io/inject': 'ingress',
      'config.linkerd.io/opaque-ports': '3306,4000-4100',
      'config.linkerd.io/skip-outbound-ports': '443',
      'config.linkerd.io/proxy-log-level': 'debug',
      'config.linkerd.io/proxy-enable-native-sidecar': 'false',
    });
  });

  it('applies flag annotations in --manual mode too', async () => {
    const r = await cli(['inject', '--manual', '--ignore-cluster', '--native-sidecar=false', '--proxy-cpu-request', '2', file('emojivoto-deployments.yaml')]);
    const spec = (parse(r.stdout) as Obj)['items'][0].spec.template.spec;
    expect(spec.containers[0].name).toBe('linkerd-proxy');
    expect(spec.containers[0].resources).toEqual({ requests: { cpu: '2' } });
  });

  it('creates the template metadata of a workload that has none, and annotates a bare Pod', async () => {
    const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bare' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'a' }] } } } };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'solo' }, spec: { containers: [{ name: 'a', image: 'a' }] } };
    const r = await cli(['inject', '-o', 'json', '-'], JSON.stringify(deploy) + JSON.stringify(pod));
    expect(r.stderr).toBe('deployment "bare" injected\npod "solo" injected\n\n');
    const [d, p] = r.stdout.split(/\n(?=\{)/).map((t) => JSON.parse(t) as Obj);
    expect(d?.['spec'].template.metadata).toEqual({ annotations: { 'linkerd.io/inject': 'enabled' } });
    expect(p?.['metadata'].annotations).toEqual({ 'linkerd.io/inject': 'enabled' });
  });

  it('rejects a flag value the injector could not use, naming the flag', async () => {
    const r = await cli(['inject', '--skip-inbound-ports', '80-', '-'], '');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trellis inject: invalid value "80-" for --skip-inbound-ports/);
  });

  it('reads multi-document YAML: annotates namespaces, passes other kinds through, and says why it skipped', async () => {
    const r = await cli(['inject', file('mixed.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'namespace "emojivoto" annotated\n' +
        'service "web-svc" skipped: this kind of object has no pod template\n' +
        'daemonset "node-agent" skipped: pods using the host network (hostNetwork: true) are not injected\n\n',
    );
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
    expect(docs).toHaveLength(3);
    expect(docs[0]?.['metadata'].annotations).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(docs[1]).toEqual(parseAllDocuments(readFileSync(file('mixed.yaml'), 'utf8'))[1]?.toJS());
  });

  it('reads JSON and skips a workload annotated disabled', async () => {
    const r = await cli(['inject', '-o', 'json', file('job.json')]);
    expect(r.stderr).toBe(`job "migrate" skipped: the linkerd.io/inject: disabled annotation is present\n\n`);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(readFileSync(file('job.json'), 'utf8')));
  });

  it('reads every manifest in a directory tree', async () => {
    const dir = join(tmp(), 'manifests');
    mkdirSync(join(dir, 'nested'), { recursive: true });
    copyFileSync(file('job.json'), join(dir, 'a.json'));
    copyFileSync(file('emojivoto-deployments.yaml'), join(dir, 'nested', 'b.yml'));
    writeFileSync(join(dir, 'README.md'), 'not a manifest');
    const r = await cli(['inject', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      'job "migrate" skipped: the linkerd.io/inject: disabled annotation is present',
      'deployment "emoji" injected',
      'deployment "vote-bot" injected',
      'deployment "voting" injected',
      'deployment "web" injected',
    ]);
  });

  it('names the source and document of invalid YAML', async () => {
    const r = await cli(['inject', '-'], 'kind: Pod\n---\nmetadata: [unclosed\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trellis inject: stdin: document 2 is not valid YAML/);
  });

  it('says which path does not exist', async () => {
    const r = await cli(['inject', '/nonexistent/deploy.yaml']);
    expect(r).toMatchObject({ code: 1, stderr: 'trellis inject: /nonexistent/deploy.yaml: no such file or directory\n' });
  });

  it('asks for input when given none', async () => {
    expect((await cli(['inject'])).stderr).toMatch(/no input/);
  });

  it('fails --manual without a reachable cluster and points at --ignore-cluster', async () => {
    const kubeconfig = join(tmp(), 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n');
    const r = await cli(['inject', '--manual', '--kubeconfig', kubeconfig, file('job.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read ConfigMap trellis\/trellis-config: .*--ignore-cluster/);
  });
});

describe('trellis uninject', () => {
  it('restores manually injected Deployments and reports each', async () => {
    const injected = await cli(['inject', '--manual', '--ignore-cluster', file('emojivoto-deployments.yaml')]);
    const r = await cli(['uninject', '-'], injected.stdout);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      'deployment "emoji" uninjected',
      'deployment "vote-bot" uninjected',
      'deployment "voting" uninjected',
      'deployment "web" uninjected',
    ]);
    const spec = (parse(r.stdout) as Obj)['items'][0].spec.template.spec;
    expect(spec.initContainers).toBeUndefined();
    expect(spec.containers.map((c: Obj) => c['name'])).toEqual(['emoji-svc']);
  });

  it('reads back its own JSON output', async () => {
    const injected = await cli(['inject', '--manual', '--ignore-cluster', '-o', 'json', file('mixed.yaml'), file('job.json')]);
    const r = await cli(['uninject', '-o', 'json', '-'], injected.stdout);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      'namespace "emojivoto" uninjected',
      'service "web-svc" skipped: this kind of object has no pod template',
      'daemonset "node-agent" skipped: not injected',
      // Its linkerd.io/inject: disabled annotation goes too, as with Linkerd's uninject.
      'job "migrate" uninjected',
    ]);
  });

  it('removes the inject annotation added by plain inject', async () => {
    const injected = await cli(['inject', file('emojivoto-deployments.yaml')]);
    const r = await cli(['uninject', '-'], injected.stdout);
    expect((parse(r.stdout) as Obj)['items'][0].spec.template.metadata.annotations).toEqual({});
  });
});

describe('trellis', () => {
  it('lists its commands and rejects unknown ones', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/inject +Add the Trellis proxy/);
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2 });
  });
});

let tmpDir = '';
function tmp(): string {
  if (!tmpDir) tmpDir = mkdtempSync(join(tmpdir(), 'trellis-cli-'));
  return tmpDir;
}
