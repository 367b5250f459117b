// The public API of @ctr/containers is re-exported here.

export * from './bundle.ts';
export * from './exec-container.ts';
export * from './records.ts';
export * from './run-config.ts';
export * from './run-flags.ts';
export * from './run-image.ts';
export * from './stop.ts';
export * from './unpack-image.ts';
