export * from './image-builder.ts';
export * from './requirements.ts';
export * from './rootfs.ts';
export * from './tmp.ts';
