// The public API of @ctr/runtime is re-exported here.
export {};
