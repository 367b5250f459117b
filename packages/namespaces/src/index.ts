// The public API of @ctr/namespaces is re-exported here.
export {};
