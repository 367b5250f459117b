// The public API of @ctr/containers is re-exported here.
export * from './run-config.ts';
export * from './run-flags.ts';
