/* A sleepable fentry (fentry.s, BPF_F_SLEEPABLE) on a syscall wrapper.
 * The kernel lets a TRACING program sleep only on functions it allows:
 * on 5.10 .. 6.12 that is the error-injection list, which Debian builds
 * empty (CONFIG_FUNCTION_ERROR_INJECTION is not set), so the verifier
 * answers "__x64_sys_getpgid is not sleepable" there and bpftool/libbpf
 * fail the same way; 7.2 accepts it. SYSCALL_DEFINE0 wrappers such as
 * __x64_sys_getppid have no BTF on any kernel of the matrix (SYSCALL_DEFINEx
 * ones do), hence getpgid. */
#define __TARGET_ARCH_x86
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 ts_hits;

SEC("fentry.s/__x64_sys_getpgid")
int BPF_PROG(ts_sleepable_getpgid, struct pt_regs *regs)
{
	ts_hits++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
