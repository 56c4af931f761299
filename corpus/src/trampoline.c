/* Trampoline-based program types (BPF_PROG_TYPE_TRACING / LSM with a
 * BTF attach target named after the prefix): fentry, fexit, fmod_ret,
 * sleepable fentry.s, lsm and sleepable lsm.s, written with BPF_PROG.
 * On the project's 6.18 host the kernel answers EPERM to loading these
 * (no verifier log), so bpftool does not load this object there. */
#define __TARGET_ARCH_x86
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 tt_hits[8];

SEC("fentry/do_unlinkat")
int BPF_PROG(tt_fentry_unlink, int dfd, struct filename *name)
{
	tt_hits[0]++;
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(tt_fexit_unlink, int dfd, struct filename *name, long ret)
{
	tt_hits[1] += ret;
	return 0;
}

SEC("fmod_ret/security_task_getsid")
int BPF_PROG(tt_modret_getsid, struct task_struct *p, int ret)
{
	return ret;
}

SEC("fentry.s/__x64_sys_getppid")
int BPF_PROG(tt_sleepable_getppid)
{
	tt_hits[2]++;
	return 0;
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
