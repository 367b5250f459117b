// The public API of @ctr/unpack is re-exported here.
export {};
