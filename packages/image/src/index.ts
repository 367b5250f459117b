// The public API of @ctr/image is re-exported here.
export {};
