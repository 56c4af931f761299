/* Tracing program types chosen by section name, none of them needing a
 * trampoline: tp_btf, raw_tp, raw_tracepoint.w (writable), tracepoint,
 * iter/task with bpf_seq_printf, perf_event, uprobe and sleepable
 * uretprobe.s, each with a distinct program name. Trampoline types (fentry,
 * fexit, fmod_ret, lsm) are in trampoline.c. */
#define __TARGET_ARCH_x86
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 tr_hits[16];

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tr_btf_fork, struct task_struct *parent, struct task_struct *child)
{
	tr_hits[3] += child->pid;
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(tr_raw_exit, struct task_struct *p)
{
	tr_hits[4]++;
	return 0;
}

SEC("raw_tracepoint.w/bpf_test_finish")
int tr_raw_writable(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("tracepoint/sched/sched_process_free")
int tr_tp_free(void *ctx)
{
	tr_hits[5]++;
	return 0;
}

SEC("iter/task")
int tr_iter_task(struct bpf_iter__task *ctx)
{
	static const char fmt[] = "%d\n";
	struct task_struct *task = ctx->task;
	__u64 pid;

	if (!task)
		return 0;
	pid = task->pid;
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), &pid, sizeof(pid));
	return 0;
}

SEC("perf_event")
int tr_perf_sample(struct bpf_perf_event_data *ctx)
{
	tr_hits[8] += ctx->sample_period;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tr_uprobe_any, void *arg)
{
	tr_hits[9]++;
	return 0;
}

SEC("uretprobe.s")
int BPF_KRETPROBE(tr_uretprobe_sleepable, long ret)
{
	tr_hits[10] += ret;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
