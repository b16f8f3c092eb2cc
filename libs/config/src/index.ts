export * from './errors.ts';
export * from './version.ts';
export * from './values.ts';
export * from './command-line.ts';
