/* Typed data ksyms: per-cpu kernel variables declared `extern const T name
 * __ksym` (a VAR in the .ksyms DATASEC whose type libbpf matches against
 * vmlinux BTF; ld_imm64 with BPF_PSEUDO_BTF_ID), read through
 * bpf_this_cpu_ptr and bpf_per_cpu_ptr, from an fentry program.
 * The kernel resolves the address through kallsyms, so this object only
 * loads on kernels built with CONFIG_KALLSYMS_ALL. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern const struct rq runqueues __ksym;
extern const int cpu_number __ksym __weak;

__u64 kp_nr_running;
__s32 kp_cpu;

SEC("fentry/do_nanosleep")
int BPF_PROG(kp_nanosleep, struct hrtimer_sleeper *t, enum hrtimer_mode mode)
{
	const struct rq *this_rq = bpf_this_cpu_ptr(&runqueues);
	const struct rq *rq0 = bpf_per_cpu_ptr(&runqueues, 0);

	kp_nr_running = this_rq->nr_running;
	if (rq0)
		kp_nr_running += rq0->nr_running;
	/* A weak ksym the kernel lacks resolves to 0 (6.12's BTF has no
	 * cpu_number VAR): the verifier rejects bpf_this_cpu_ptr(NULL), so
	 * guard it; the branch is dead code where it is absent. */
	if (&cpu_number) {
		const int *cpu = bpf_this_cpu_ptr(&cpu_number);

		kp_cpu = *cpu;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
