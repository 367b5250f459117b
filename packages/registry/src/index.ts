// The public API of @ctr/registry is re-exported here.
export {};
