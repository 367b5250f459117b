// The public API of @ctr/seccomp is re-exported here.
export {};
