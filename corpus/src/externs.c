/* Externs resolved at load time: .kconfig (LINUX_KERNEL_VERSION, a tristate,
 * a bool, an int, a string-valued option and a weak option that need not
 * exist) and .ksyms (an untyped address resolved through kallsyms, a weak ksym that may be
 * absent, tested for null) and kfunc externs (bpf_task_acquire/release:
 * BTF_KIND_FUNC in the .ksyms DATASEC, called with BPF_PSEUDO_KFUNC_CALL), in a
 * tp_btf program. Typed data ksyms are in ksym_percpu.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig;
extern char CONFIG_LOCALVERSION[16] __kconfig __weak;
extern bool CONFIG_BPFCONFORM_NO_SUCH_OPTION __kconfig __weak;

extern const void schedule __ksym;			/* untyped, via kallsyms */
extern const void bpfconform_no_such_symbol __ksym __weak; /* weak, absent */

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

__u64 ex_seen_version;
__u64 ex_flags;

SEC("tp_btf/sched_switch")
int ex_switch(u64 *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx[2], *held;

	ex_seen_version = LINUX_KERNEL_VERSION;
	ex_flags = (CONFIG_BPF_JIT == TRI_YES) | (CONFIG_BPF_SYSCALL << 1) |
		   ((__u64)CONFIG_HZ << 8) | (CONFIG_LOCALVERSION[0] << 24);
	if (CONFIG_BPFCONFORM_NO_SUCH_OPTION)
		ex_flags |= 1ULL << 40;
	if (&bpfconform_no_such_symbol)
		ex_flags |= 1ULL << 41;
	ex_flags ^= (__u64)&schedule;
	held = bpf_task_acquire(next);
	if (held) {
		ex_flags ^= held->pid;
		bpf_task_release(held);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
