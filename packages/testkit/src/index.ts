export * from './certs.ts';
export * from './fault-proxy.ts';
export * from './image-builder.ts';
export * from './registry-server.ts';
export * from './requirements.ts';
export * from './rootfs.ts';
export * from './tmp.ts';
export * from './token-issuer.ts';
