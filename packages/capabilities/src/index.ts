// The public API of @ctr/capabilities is re-exported here.
export {};
