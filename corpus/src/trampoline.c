/* Trampoline-based program types (BPF_PROG_TYPE_TRACING / LSM with a
 * BTF attach target named after the prefix): fentry, fexit, fmod_ret,
 * lsm and sleepable lsm.s, written with BPF_PROG. Sleepable fentry.s is
 * in trampoline_sleepable.c: Debian's 5.10 .. 6.12 kernels refuse it.
 * On the project's 6.18 host the kernel answers EPERM to loading these
 * (no verifier log), so bpftool does not load this object there.
 * Targets are ones every kernel of the matrix (5.10 .. 7.2) has in its
 * vmlinux BTF: do_unlinkat is gone in 7.2 (seen in its BTF and kallsyms). */
#define __TARGET_ARCH_x86
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 tt_hits[8];

SEC("fentry/__x64_sys_unlinkat")
int BPF_PROG(tt_fentry_unlink, struct pt_regs *regs)
{
	tt_hits[0]++;
	return 0;
}

SEC("fexit/__x64_sys_unlinkat")
int BPF_PROG(tt_fexit_unlink, struct pt_regs *regs, long ret)
{
	tt_hits[1] += ret;
	return 0;
}

SEC("fmod_ret/security_task_getsid")
int BPF_PROG(tt_modret_getsid, struct task_struct *p, int ret)
{
	return ret;
}

SEC("lsm/file_open")
int BPF_PROG(tt_lsm_file_open, struct file *file)
{
	tt_hits[6]++;
	return 0;
}

SEC("lsm.s/bprm_committed_creds")
int BPF_PROG(tt_lsm_s_creds, struct linux_binprm *bprm)
{
	tt_hits[7]++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
