// The public API of @ctr/rootfs is re-exported here.
export {};
