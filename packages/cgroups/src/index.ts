// The public API of @ctr/cgroups is re-exported here.
export {};
