// kubectl against the cluster a node spec brought up, and polling that prints the cluster's state when it gives up.
// The state is read when each call runs: the specs set it in beforeAll.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ClusterState } from '../src/control-plane.ts';
import { nodeClusterSnapshot, pollUntil } from '../src/poll.ts';
import { toolPath } from '../src/tools.ts';

const run = promisify(execFile);

export function clusterKubectl(current: () => ClusterState) {
  const kubectl = async (...args: string[]): Promise<string> =>
    (await run(await toolPath('kubectl'), args, { env: { ...process.env, KUBECONFIG: current().kubeconfig }, maxBuffer: 16 << 20 })).stdout;
  const kubectlInput = async (input: string, ...args: string[]): Promise<string> => {
    const bin = await toolPath('kubectl');
    return new Promise((resolve, reject) => {
      const child = execFile(bin, args, { env: { ...process.env, KUBECONFIG: current().kubeconfig } }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      child.stdin?.end(input);
    });
  };
  const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> =>
    pollUntil(what, probe, timeoutMs, () => nodeClusterSnapshot(current().dir, kubectl));
  return { kubectl, kubectlInput, until };
}
