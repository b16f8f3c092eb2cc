// Logging, metrics registry and the admin HTTP server shared by every Trellis process.
export * from './logger.ts';
export * from './metrics.ts';
export * from './admin-server.ts';
export * from './prom-text.ts';
export * from './heap.ts';
