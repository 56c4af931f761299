/* CO-RE relocations against vmlinux.h: field byte offsets through
 * BPF_CORE_READ chains (task->mm->..., task->real_parent->tgid), a bitfield
 * read with BPF_CORE_READ_BITFIELD_PROBED, bpf_core_field_exists,
 * bpf_core_field_size, bpf_core_type_exists / bpf_core_type_size /
 * bpf_core_type_id_kernel, enum value existence and value relocs, and a
 * local "___flavor" struct that must match the kernel's by name prefix;
 * kprobe and kretprobe programs written with BPF_KPROBE/BPF_KRETPROBE. */
/* bpf_tracing.h picks the pt_regs layout from this. */
#define __TARGET_ARCH_x86
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* A flavour: libbpf strips "___old" and matches "task_struct" in the kernel. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

__u64 cr_results[12];

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(cr_nanosleep, struct hrtimer_sleeper *t)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct___old *old = (void *)task;

	cr_results[0] = BPF_CORE_READ(task, real_parent, tgid);
	cr_results[1] = BPF_CORE_READ(task, mm, total_vm);
	cr_results[2] = bpf_core_field_exists(task->mm);
	cr_results[3] = bpf_core_field_size(task->comm);
	cr_results[4] = bpf_core_type_exists(struct bpf_map);
	cr_results[5] = bpf_core_type_size(struct task_struct);
	cr_results[6] = bpf_core_type_id_kernel(struct task_struct);
	cr_results[7] = bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
	cr_results[8] = bpf_core_enum_value(enum bpf_prog_type, BPF_PROG_TYPE_LSM);
	if (bpf_core_field_exists(old->state))
		cr_results[9] = BPF_CORE_READ(old, state);
	/* struct hrtimer lost 'state' in 7.x (now bool is_queued): guard it. */
	if (bpf_core_field_exists(t->timer.state))
		cr_results[10] = BPF_CORE_READ(t, timer.state);
	return 0;
}

SEC("kretprobe/do_nanosleep")
int BPF_KRETPROBE(cr_nanosleep_ret, int ret)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct sock_common *skc = (void *)BPF_CORE_READ(task, mm);

	cr_results[11] = ret + BPF_CORE_READ_BITFIELD_PROBED(skc, skc_reuse);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
