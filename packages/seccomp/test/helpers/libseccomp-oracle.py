# The independent oracle for the compiler's tests: builds the same OCI profile with
# libseccomp (Debian's python3-seccomp) the way runc does, and writes the BPF it
# generates. usage: /usr/bin/python3 libseccomp-oracle.py PROFILE.json NATIVE OUT.bpf
import json
import sys

import seccomp

ARCHES = {
    "x86_64": seccomp.Arch.X86_64,
    "x86": seccomp.Arch.X86,
    "x32": seccomp.Arch.X32,
    "aarch64": seccomp.Arch.AARCH64,
    "SCMP_ARCH_X86_64": seccomp.Arch.X86_64,
    "SCMP_ARCH_X86": seccomp.Arch.X86,
    "SCMP_ARCH_X32": seccomp.Arch.X32,
    "SCMP_ARCH_AARCH64": seccomp.Arch.AARCH64,
}
OPS = {
    "SCMP_CMP_NE": seccomp.NE,
    "SCMP_CMP_LT": seccomp.LT,
    "SCMP_CMP_LE": seccomp.LE,
    "SCMP_CMP_EQ": seccomp.EQ,
    "SCMP_CMP_GE": seccomp.GE,
    "SCMP_CMP_GT": seccomp.GT,
    "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ,
}


def action(name, ret):
    ret = 1 if ret is None else ret
    return {
        "SCMP_ACT_KILL": lambda: seccomp.KILL,
        "SCMP_ACT_KILL_THREAD": lambda: seccomp.KILL,
        "SCMP_ACT_KILL_PROCESS": lambda: seccomp.KILL_PROCESS,
        "SCMP_ACT_TRAP": lambda: seccomp.TRAP,
        "SCMP_ACT_ERRNO": lambda: seccomp.ERRNO(ret),
        "SCMP_ACT_TRACE": lambda: seccomp.TRACE(ret),
        "SCMP_ACT_ALLOW": lambda: seccomp.ALLOW,
        "SCMP_ACT_LOG": lambda: seccomp.LOG,
        "SCMP_ACT_NOTIFY": lambda: seccomp.NOTIFY,
    }[name]()


def main():
    profile = json.load(open(sys.argv[1]))
    native = ARCHES[sys.argv[2]]
    default = action(profile["defaultAction"], profile.get("defaultErrnoRet"))
    f = seccomp.SyscallFilter(default)
    try:
        f.add_arch(native)
        f.remove_arch(seccomp.Arch.NATIVE)
    except RuntimeError:
        pass  # EEXIST: the requested native architecture is this host's
    f.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    for name in profile.get("architectures", []):
        if name in ARCHES and ARCHES[name] != native:
            try:
                f.add_arch(ARCHES[name])
            except RuntimeError:
                pass  # EEXIST
    for entry in profile.get("syscalls", []):
        act = action(entry["action"], entry.get("errnoRet"))
        if act == default:
            continue
        conds = [
            seccomp.Arg(a["index"], OPS[a["op"]], a["value"], a.get("valueTwo", 0))
            for a in entry.get("args", [])
        ]
        indexes = [a["index"] for a in entry.get("args", [])]
        # runc: a rule that repeats an argument index becomes one rule per condition.
        rules = [[c] for c in conds] if len(set(indexes)) < len(indexes) else [conds]
        for name in entry["names"]:
            for rule in rules:
                try:
                    f.add_rule(act, name, *rule)
                except (RuntimeError, ValueError):
                    pass  # unknown on every selected architecture: runc skips it too
    with open(sys.argv[3], "wb") as out:
        f.export_bpf(out)


main()
