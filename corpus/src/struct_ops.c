/* struct_ops: a TCP congestion control (struct tcp_congestion_ops) whose
 * members are BPF programs in struct_ops/NAME sections, the map itself in
 * SEC(".struct_ops") with function-pointer relocations in .rel.struct_ops and
 * a name string in the map value.
 * Requires vmlinux BTF of a kernel with CONFIG_BPF_JIT and TCP cong ops. */
#define __TARGET_ARCH_x86
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("struct_ops/so_init")
void BPF_PROG(so_init, struct sock *sk)
{
}

SEC("struct_ops/so_ssthresh")
__u32 BPF_PROG(so_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd > 4 ? tp->snd_cwnd >> 1 : 2;
}

SEC("struct_ops/so_cong_avoid")
void BPF_PROG(so_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops/so_undo_cwnd")
__u32 BPF_PROG(so_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd;
}

SEC(".struct_ops")
struct tcp_congestion_ops so_bpfconform = {
	.init = (void *)so_init,
	.ssthresh = (void *)so_ssthresh,
	.cong_avoid = (void *)so_cong_avoid,
	.undo_cwnd = (void *)so_undo_cwnd,
	.name = "bpfconform",
};

char LICENSE[] SEC("license") = "GPL";
