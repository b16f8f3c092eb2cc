// The allocation sites in a .heapprofile that bench.ts --alloc --heap-sample wrote (alloc-probe.ts), per request:
// by function (self), by the two innermost frames of the proxy's bundle above each allocation (what of ours
// caused it, Node's internals included), and by the last six frames.
//   node tools/bench/proxy-overhead/heap-sites.ts <file.heapprofile> <requests in the window> [top N]
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface ProfileNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: ProfileNode[];
}

const [file, requestsArg, topArg] = process.argv.slice(2);
if (!file || !requestsArg) throw new Error('usage: heap-sites.ts <file.heapprofile> <requests> [top N]');
const requests = Number(requestsArg);
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };
// The proxy bundle (or any script file): Node's own frames are node:* and native ones have no URL.
const bundle = /\.js$/;
const key = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${f.url.split('/').pop() ?? ''}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
const tables = { self: new Map<string, number>(), 'our caller': new Map<string, number>(), stack: new Map<string, number>() };
let total = 0;

function add(m: Map<string, number>, k: string, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

const stack: CallFrame[] = [];
function walk(node: ProfileNode): void {
  stack.push(node.callFrame);
  if (node.selfSize > 0) {
    total += node.selfSize;
    add(tables.self, key(node.callFrame), node.selfSize);
    const ours = stack.filter((f) => bundle.test(f.url));
    add(tables['our caller'], ours.slice(-2).map(key).join(' <- ') || '(only Node)', node.selfSize);
    add(tables.stack, stack.slice(-6).map((f) => f.functionName || '(anonymous)').join(' > '), node.selfSize);
  }
  for (const c of node.children) walk(c);
  stack.pop();
}
walk(profile.head);

process.stdout.write(`${Math.round(total / requests)} B/req sampled (${total} bytes over ${requests} requests)\n`);
for (const [name, m] of Object.entries(tables)) {
  process.stdout.write(`\n== by ${name}, B/req\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${String(Math.round(v / requests)).padStart(7)}  ${k}\n`);
}
