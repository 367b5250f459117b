// The runtime spec's rules as checks: types and ranges from its JSON schema, and the
// MUSTs of config.md / config-linux.md (absolute paths, unique namespace and rlimit
// types, required fields).
import { NAMESPACE_TYPES, SECCOMP_ACTIONS, SECCOMP_OPERATORS } from './runtime-types.ts';
import {
  absolutePath,
  all,
  anyString,
  array,
  boolean,
  type Check,
  describe,
  int32,
  int64,
  integer,
  isObject,
  object,
  oneOf,
  Range,
  record,
  required,
  string,
  uint16,
  uint32,
  uint64,
  unique,
  whenObject,
} from './schema.ts';

const strings = array(anyString);
const stringMap = record(anyString);
const semver = string({
  pattern: /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/,
  patternName: 'a semantic version',
});
const capability = string({ pattern: /^CAP_[A-Z_]+$/, patternName: 'a capability name like CAP_CHOWN' });
const capabilityList = array(capability);

export const RLIMIT_TYPES = [
  'RLIMIT_AS',
  'RLIMIT_CORE',
  'RLIMIT_CPU',
  'RLIMIT_DATA',
  'RLIMIT_FSIZE',
  'RLIMIT_LOCKS',
  'RLIMIT_MEMLOCK',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_NOFILE',
  'RLIMIT_NPROC',
  'RLIMIT_RSS',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME',
  'RLIMIT_SIGPENDING',
  'RLIMIT_STACK',
] as const;

const toBig = (v: unknown): bigint | undefined =>
  typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;

const rlimit = object(
  { type: required(oneOf(RLIMIT_TYPES)), hard: required(uint64), soft: required(uint64) },
  whenObject((v, path, out) => {
    const soft = toBig(v.soft);
    const hard = toBig(v.hard);
    if (soft !== undefined && hard !== undefined && soft > hard) {
      out.push({ path: `${path}.soft`, message: `soft limit ${soft} is above the hard limit ${hard}` });
    }
  }),
);

const user = object({
  uid: required(uint32),
  gid: required(uint32),
  umask: uint32,
  additionalGids: array(uint32),
  username: anyString,
});

const envEntry = string({ pattern: /^[^=\0][^\0]*=[^\0]*$/s, patternName: 'KEY=value' });

export const processSchema = object({
  terminal: boolean,
  consoleSize: object({ height: required(uint32), width: required(uint32) }),
  user: required(user),
  // config.md: args extends execvp's argv in requiring at least one entry.
  args: array(anyString, { nonEmpty: true }),
  commandLine: anyString,
  env: array(envEntry),
  cwd: required(absolutePath),
  capabilities: object({
    bounding: capabilityList,
    effective: capabilityList,
    inheritable: capabilityList,
    permitted: capabilityList,
    ambient: capabilityList,
  }),
  // config.md: duplicate rlimit types MUST be an error.
  rlimits: all(
    array(rlimit),
    unique((r) => (isObject(r) ? r.type : undefined), 'rlimit type'),
  ),
  noNewPrivileges: boolean,
  apparmorProfile: anyString,
  oomScoreAdj: integer([-1000n, 1000n]),
  scheduler: object({
    policy: required(
      oneOf([
        'SCHED_OTHER',
        'SCHED_FIFO',
        'SCHED_RR',
        'SCHED_BATCH',
        'SCHED_ISO',
        'SCHED_IDLE',
        'SCHED_DEADLINE',
      ]),
    ),
    nice: integer([-20n, 19n]),
    priority: int32,
    flags: array(
      oneOf([
        'SCHED_FLAG_RESET_ON_FORK',
        'SCHED_FLAG_RECLAIM',
        'SCHED_FLAG_DL_OVERRUN',
        'SCHED_FLAG_KEEP_POLICY',
        'SCHED_FLAG_KEEP_PARAMS',
        'SCHED_FLAG_UTIL_CLAMP_MIN',
        'SCHED_FLAG_UTIL_CLAMP_MAX',
      ]),
    ),
    runtime: uint64,
    deadline: uint64,
    period: uint64,
  }),
  selinuxLabel: anyString,
  ioPriority: object({
    class: required(oneOf(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'])),
    priority: required(integer([0n, 7n])),
  }),
  execCPUAffinity: object({ initial: anyString, final: anyString }),
});

const idMapping = object(
  { containerID: required(uint32), hostID: required(uint32), size: required(integer([1n, Range.uint32[1]])) },
  whenObject((v, path, out) => {
    const size = toBig(v.size) ?? 0n;
    for (const k of ['containerID', 'hostID'] as const) {
      const start = toBig(v[k]);
      if (start !== undefined && start + size - 1n > Range.uint32[1]) {
        out.push({ path: `${path}.${k}`, message: `${k} + size overflows the 32-bit id range` });
      }
    }
  }),
);
const idMappings = array(idMapping);

const mount = object({
  // config.md allows relative Linux destinations for compatibility; ctr refuses them:
  // a relative target is resolved against a cwd the runtime does not control.
  destination: required(absolutePath),
  source: anyString,
  type: anyString,
  options: strings,
  uidMappings: idMappings,
  gidMappings: idMappings,
});

const hook = object({
  path: required(absolutePath),
  args: strings,
  env: array(envEntry),
  timeout: integer([1n, Range.int64[1]], 'integer greater than zero'),
});
const hookList = array(hook);

const namespace = object({ type: required(oneOf(NAMESPACE_TYPES)), path: absolutePath });

const device = object(
  {
    path: required(absolutePath),
    type: required(oneOf(['c', 'b', 'u', 'p'])),
    major: int64,
    minor: int64,
    // podman passes the host node's whole st_mode (0o20666 for /dev/null: S_IFCHR
    // and the permissions), as runc accepts; the type comes from `type`, only the
    // permission bits are applied.
    fileMode: integer([0n, 0o177777n], 'file mode (0..0177777, type bits allowed)'),
    uid: uint32,
    gid: uint32,
  },
  whenObject((v, path, out) => {
    // config-linux.md: major and minor are required for every type except p.
    if (v.type !== 'p' && typeof v.type === 'string') {
      for (const k of ['major', 'minor']) {
        if (v[k] === undefined)
          out.push({ path: `${path}.${k}`, message: `is required for device type ${v.type}` });
      }
    }
  }),
);

const deviceCgroup = object({
  allow: required(boolean),
  type: oneOf(['a', 'c', 'b']),
  major: int64,
  minor: int64,
  access: string({ pattern: /^[rwm]{1,3}$/, patternName: 'a combination of r, w and m' }),
});

const weightDevice = object({
  major: required(int64),
  minor: required(int64),
  weight: uint16,
  leafWeight: uint16,
});
const throttleDevice = array(
  object({ major: required(int64), minor: required(int64), rate: required(uint64) }),
);

const blkioWeight = integer([10n, 1000n], 'weight (10..1000)');

const resources = object({
  devices: array(deviceCgroup),
  memory: object({
    limit: int64,
    reservation: int64,
    swap: int64,
    kernel: int64,
    kernelTCP: int64,
    swappiness: integer([0n, 100n], 'swappiness (0..100)'),
    disableOOMKiller: boolean,
    useHierarchy: boolean,
    checkBeforeUpdate: boolean,
  }),
  cpu: object({
    shares: uint64,
    quota: int64,
    burst: uint64,
    period: uint64,
    realtimeRuntime: int64,
    realtimePeriod: uint64,
    cpus: anyString,
    mems: anyString,
    idle: int64,
  }),
  pids: object({ limit: required(int64) }),
  blockIO: object({
    weight: blkioWeight,
    leafWeight: blkioWeight,
    weightDevice: array(weightDevice),
    throttleReadBpsDevice: throttleDevice,
    throttleWriteBpsDevice: throttleDevice,
    throttleReadIOPSDevice: throttleDevice,
    throttleWriteIOPSDevice: throttleDevice,
  }),
  hugepageLimits: array(
    object({
      pageSize: required(string({ pattern: /^\d+[KMGTP]?B$/, patternName: 'a page size like 2MB' })),
      limit: required(uint64),
    }),
  ),
  network: object({
    classID: uint32,
    priorities: array(object({ name: required(anyString), priority: required(uint32) })),
  }),
  rdma: record(object({ hcaHandles: uint32, hcaObjects: uint32 })),
  unified: stringMap,
});

const seccompArg = object({
  index: required(integer([0n, 5n], 'argument index (0..5)')),
  value: required(uint64),
  valueTwo: uint64,
  op: required(oneOf(SECCOMP_OPERATORS)),
});

const seccomp = object({
  defaultAction: required(oneOf(SECCOMP_ACTIONS)),
  defaultErrnoRet: uint32,
  architectures: array(string({ pattern: /^SCMP_ARCH_[A-Z0-9_]+$/, patternName: 'SCMP_ARCH_*' })),
  flags: array(
    oneOf([
      'SECCOMP_FILTER_FLAG_TSYNC',
      'SECCOMP_FILTER_FLAG_LOG',
      'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
      'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
    ]),
  ),
  listenerPath: absolutePath,
  listenerMetadata: anyString,
  syscalls: array(
    object({
      names: required(array(string({ nonEmpty: true }), { nonEmpty: true })),
      action: required(oneOf(SECCOMP_ACTIONS)),
      errnoRet: uint32,
      args: array(seccompArg),
    }),
  ),
});

const timeOffset = object({
  secs: int64,
  nanosecs: integer([0n, 999_999_999n], 'nanoseconds (0..999999999)'),
});

const linux = object(
  {
    uidMappings: idMappings,
    gidMappings: idMappings,
    sysctl: stringMap,
    resources,
    cgroupsPath: anyString,
    namespaces: all(
      array(namespace),
      // config-linux.md: a namespace type given twice MUST be an error.
      unique((n) => (isObject(n) ? n.type : undefined), 'namespace type'),
    ),
    devices: array(device),
    seccomp,
    rootfsPropagation: oneOf([
      'private',
      'shared',
      'slave',
      'unbindable',
      'rprivate',
      'rshared',
      'rslave',
      'runbindable',
    ]),
    maskedPaths: array(absolutePath),
    readonlyPaths: array(absolutePath),
    mountLabel: anyString,
    intelRdt: object({
      closID: anyString,
      l3CacheSchema: anyString,
      memBwSchema: anyString,
      enableCMT: boolean,
      enableMBM: boolean,
    }),
    personality: object({ domain: required(oneOf(['LINUX', 'LINUX32'])), flags: strings }),
    timeOffsets: record(timeOffset, oneOf(['boottime', 'monotonic'])),
  },
  whenObject((v, path, out) => {
    // config-linux.md: mappings without a user namespace cannot be applied.
    const hasUserNs =
      Array.isArray(v.namespaces) && v.namespaces.some((n) => isObject(n) && n.type === 'user');
    for (const k of ['uidMappings', 'gidMappings']) {
      if (Array.isArray(v[k]) && (v[k] as unknown[]).length > 0 && !hasUserNs) {
        out.push({ path: `${path}.${k}`, message: 'requires a user namespace in linux.namespaces' });
      }
    }
  }),
);

export const runtimeConfigSchema: Check = object({
  ociVersion: required(semver),
  process: processSchema,
  // config.md: root is REQUIRED on every platform but Windows.
  root: required(object({ path: required(string({ nonEmpty: true })), readonly: boolean })),
  hostname: anyString,
  domainname: anyString,
  mounts: array(mount),
  hooks: object({
    prestart: hookList,
    createRuntime: hookList,
    createContainer: hookList,
    startContainer: hookList,
    poststart: hookList,
    poststop: hookList,
  }),
  annotations: record(anyString, string({ nonEmpty: true })),
  linux,
});

export const stateSchema: Check = object(
  {
    ociVersion: required(semver),
    id: required(string({ nonEmpty: true })),
    status: required(oneOf(['creating', 'created', 'running', 'stopped', 'paused'])),
    pid: integer([1n, Range.int32[1]], 'process id'),
    bundle: required(absolutePath),
    annotations: stringMap,
  },
  whenObject((v, path, out) => {
    // state.md: pid is REQUIRED while the container process exists.
    if ((v.status === 'created' || v.status === 'running') && v.pid === undefined) {
      out.push({
        path: path === '$' ? 'pid' : `${path}.pid`,
        message: `is required when status is ${describe(v.status)}`,
      });
    }
  }),
);

export const featuresSchema: Check = object({
  ociVersionMin: required(semver),
  ociVersionMax: required(semver),
  hooks: strings,
  mountOptions: strings,
  linux: object({
    namespaces: array(oneOf(NAMESPACE_TYPES)),
    capabilities: capabilityList,
  }),
  annotations: stringMap,
  potentiallyUnsafeConfigAnnotations: strings,
});
