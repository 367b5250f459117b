// The default profile of `ctr run`: the rules of moby's published default seccomp
// profile (profiles/seccomp/default.json, the one Docker and podman ship), restated
// here as data and resolved the way moby resolves it for one container: rules gated
// on the host architecture, on capabilities the container holds, or on the kernel
// version are kept or dropped here, so the result is a plain OCI `linux.seccomp`.
import { release } from 'node:os';
import { nativeArch, type SeccompArch } from './arch.ts';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall } from './types.ts';

/** The capabilities Docker and podman give a container unless told otherwise. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Allowed for every container: what ordinary programs need and the kernel confines anyway. */
const ALWAYS = `
  _llseek _newselect accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown
  chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
  clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
  eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
  fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
  flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
  ftruncate64 futex futex_time64 futex_waitv futimesat get_robust_list get_thread_area getcpu getcwd
  getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
  getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid
  getresuid32 getrlimit getrusage getsid getsockname getsockopt gettid gettimeofday getuid getuid32
  getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents
  io_pgetevents io_pgetevents_time64 io_setup io_submit io_uring_enter io_uring_register io_uring_setup
  ioctl ioprio_get ioprio_set ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self
  lchown lchown32 lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat
  lstat64 madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
  mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
  mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall
  munmap nanosleep newfstatat open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 poll ppoll
  ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64
  pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
  remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction
  rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
  rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min sched_getaffinity
  sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
  sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl
  semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto
  set_robust_list set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
  setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
  setresuid32 setreuid setreuid32 setrlimit setsid setsockopt setuid setuid32 setxattr shmat shmctl shmdt
  shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socket socketcall socketpair splice
  stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time
  timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
  timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate
  truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice
  wait4 waitid waitpid write writev`;

/** A group of the profile and when it applies (moby's includes / excludes). */
interface Grant {
  names: string;
  action?: 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: LinuxSeccompArg[];
  /** Only on these host architectures (Go names, as moby writes them). */
  arches?: readonly string[];
  /** Only when the container holds one of these capabilities. */
  caps?: readonly string[];
  /** Not when the container holds one of these capabilities. */
  unlessCaps?: readonly string[];
  /** Only on kernels at least this new. */
  minKernel?: [number, number];
}

// CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone(2) without
// CAP_SYS_ADMIN may not create namespaces.
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
// PER_LINUX, PER_LINUX32, UNAME26 variants and the 0xffffffff query.
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

const GRANTS: readonly Grant[] = [
  { names: ALWAYS },
  // Before 4.8 ptrace could be used to bypass seccomp.
  { names: 'process_vm_readv process_vm_writev ptrace', minKernel: [4, 8] },
  ...PERSONALITIES.map(
    (value): Grant => ({ names: 'personality', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] }),
  ),
  {
    names: 'arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls',
    arches: ['arm', 'arm64'],
  },
  { names: 'arch_prctl', arches: ['amd64', 'x32'] },
  { names: 'modify_ldt', arches: ['amd64', 'x32', 'x86'] },
  { names: 'open_by_handle_at', caps: ['CAP_DAC_READ_SEARCH'] },
  {
    names:
      'bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount name_to_handle_at open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare',
    caps: ['CAP_SYS_ADMIN'],
  },
  {
    names: 'clone',
    args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    unlessCaps: ['CAP_SYS_ADMIN'],
  },
  // clone3 passes its flags in memory seccomp cannot read: answer ENOSYS so libc
  // falls back to clone, whose flags the rule above checks.
  { names: 'clone3', action: 'SCMP_ACT_ERRNO', errnoRet: 38, unlessCaps: ['CAP_SYS_ADMIN'] },
  { names: 'reboot', caps: ['CAP_SYS_BOOT'] },
  { names: 'chroot', caps: ['CAP_SYS_CHROOT'] },
  { names: 'delete_module init_module finit_module', caps: ['CAP_SYS_MODULE'] },
  { names: 'acct', caps: ['CAP_SYS_PACCT'] },
  {
    names: 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace',
    caps: ['CAP_SYS_PTRACE'],
  },
  { names: 'iopl ioperm', caps: ['CAP_SYS_RAWIO'] },
  { names: 'settimeofday stime clock_settime', caps: ['CAP_SYS_TIME'] },
  { names: 'vhangup', caps: ['CAP_SYS_TTY_CONFIG'] },
  { names: 'get_mempolicy mbind set_mempolicy', caps: ['CAP_SYS_NICE'] },
  { names: 'syslog', caps: ['CAP_SYSLOG'] },
];

const GO_ARCH: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };
const SUB_ARCHES: Record<string, string[]> = {
  x86_64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  aarch64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

export interface DefaultProfileOptions {
  /** The host architecture (default: this host's). */
  arch?: SeccompArch;
  /** The container's capabilities (default: DEFAULT_CAPABILITIES). */
  capabilities?: readonly string[];
  /** The kernel release (default: this host's, from uname). */
  kernel?: string;
}

/**
 * The secure default profile: ERRNO(EPERM) for everything except what moby's default
 * profile allows for a container with these capabilities on this architecture.
 */
export function defaultSeccompProfile(options: DefaultProfileOptions = {}): LinuxSeccomp {
  const arch = options.arch ?? nativeArch();
  const caps = new Set(options.capabilities ?? DEFAULT_CAPABILITIES);
  const [major = 0, minor = 0] = (options.kernel ?? release()).split(/[.-]/).map(Number);
  const syscalls: LinuxSyscall[] = [];
  for (const g of GRANTS) {
    if (g.arches && !g.arches.includes(GO_ARCH[arch] ?? arch)) continue;
    if (g.caps && !g.caps.some((c) => caps.has(c))) continue;
    if (g.unlessCaps?.some((c) => caps.has(c))) continue;
    if (g.minKernel && (major < g.minKernel[0] || (major === g.minKernel[0] && minor < g.minKernel[1])))
      continue;
    const rule: LinuxSyscall = { names: g.names.trim().split(/\s+/), action: g.action ?? 'SCMP_ACT_ALLOW' };
    if (g.errnoRet !== undefined) rule.errnoRet = g.errnoRet;
    if (g.args) rule.args = g.args.map((a) => ({ ...a }));
    syscalls.push(rule);
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: [...(SUB_ARCHES[arch] ?? [])],
    syscalls,
  };
}
