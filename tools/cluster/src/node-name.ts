// The node's name: the kubelet registers under it, and kube-proxy, the DNS EndpointSlice and the node's directory
// (<cluster dir>/node-<name>) use it.
export const NODE_NAME = 'trellis-node';
