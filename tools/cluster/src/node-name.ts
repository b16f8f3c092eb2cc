// The nodes' names: the kubelet registers under it, and kube-proxy, the DNS EndpointSlice and the node's directory
// (<cluster dir>/node-<name>) use it. The first node runs on the host; further nodes (`up --node --nodes N`) are
// trellis-node-2, -3, ..., each in a network namespace of that name.
export const NODE_NAME = 'trellis-node';

/** The name of node `index` (1-based): trellis-node for the first, trellis-node-<index> for the others. */
export const nodeName = (index: number) => (index === 1 ? NODE_NAME : `${NODE_NAME}-${index}`);

/** Every node's name of a cluster with `count` nodes. */
export const nodeNames = (count: number) => Array.from({ length: Math.max(1, count) }, (_, i) => nodeName(i + 1));
