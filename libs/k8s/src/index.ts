export * from './kubeconfig.ts';
export * from './resource-path.ts';
export * from './backoff.ts';
export * from './watch-cache.ts';
export * from './tokens.ts';
export * from './admission-connection.ts';
