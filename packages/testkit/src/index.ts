export * from './requirements.ts';
export * from './rootfs.ts';
export * from './tmp.ts';
