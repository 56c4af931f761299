/* Callbacks: bpf_loop and bpf_for_each_map_elem take a static function by
 * address, so the code holds ld_imm64 function-pointer relocations
 * (BPF_PSEUDO_FUNC) to subprograms in .text; a callback that itself calls a
 * bpf2bpf subprogram; a context struct passed through the callback. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct cb_ctx {
	__u64 sum;
	__u32 visited;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} cb_values SEC(".maps");

static __attribute__((noinline)) __u64 cb_square(__u64 v)
{
	return v * v;
}

static long cb_loop_step(__u32 index, void *data)
{
	struct cb_ctx *c = data;

	c->sum += cb_square(index);
	return c->sum > 1000 ? 1 : 0;
}

static long cb_visit(struct bpf_map *map, __u32 *key, __u64 *val, void *data)
{
	struct cb_ctx *c = data;

	c->visited++;
	c->sum += *val;
	return 0;
}

SEC("raw_tp/sys_enter")
int cb_raw_enter(void *ctx)
{
	struct cb_ctx c = {};

	bpf_loop(32, cb_loop_step, &c, 0);
	bpf_for_each_map_elem(&cb_values, cb_visit, &c, 0);
	return c.visited;
}

char LICENSE[] SEC("license") = "GPL";
