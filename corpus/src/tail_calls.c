/* A prog array statically initialised with programs (`.values = { [i] =
 * &prog }`, relocations in .rel.maps against program symbols), tail calls
 * through it with constant and variable indices, and programs of one type
 * (xdp) that only exist to be tail-called. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

int tc_first(struct xdp_md *ctx);
int tc_second(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int(struct xdp_md *));
} tc_jump_table SEC(".maps") = {
	.values = {
		[0] = (void *)&tc_first,
		[2] = (void *)&tc_second,
	},
};

SEC("xdp")
int tc_first(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &tc_jump_table, 2);
	return XDP_PASS;
}

SEC("xdp")
int tc_second(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int tc_entry(struct xdp_md *ctx)
{
	__u32 idx = ctx->rx_queue_index & 3;

	bpf_tail_call(ctx, &tc_jump_table, idx);
	bpf_tail_call(ctx, &tc_jump_table, 0);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
