// The node's name, shared by registration and everything that reports as the node.
export const NODE_NAME = 'trellis-node';
export const NODE_EVENT_SOURCE = { component: 'kubelet', host: NODE_NAME } as const;
