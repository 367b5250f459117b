// The public API of @ctr/containers is re-exported here.
export {};
