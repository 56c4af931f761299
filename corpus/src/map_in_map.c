/* Map-in-map: an array of maps and a hash of maps, each declared with an
 * inner map template through __array(values, ...), and statically
 * initialised with `.values = { ... }` (relocations in .rel.maps pointing at
 * the inner maps). The hash of maps has an anonymous inner template only
 * (BPF_F_INNER_MAP: inner arrays of any max_entries may be inserted later). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct mim_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
};

struct mim_inner mim_inner_a SEC(".maps");
struct mim_inner mim_inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct mim_inner);
} mim_outer_array SEC(".maps") = {
	.values = { &mim_inner_a, [3] = &mim_inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(max_entries, 16);
		__uint(map_flags, BPF_F_INNER_MAP);
		__type(key, __u32);
		__type(value, __u32);
	});
} mim_outer_hash SEC(".maps");

SEC("tp/sched/sched_process_exec")
int mim_lookup(void *ctx)
{
	__u32 key = 3, zero = 0;
	__u64 *val;
	void *inner;

	inner = bpf_map_lookup_elem(&mim_outer_array, &key);
	if (!inner)
		return 0;
	val = bpf_map_lookup_elem(inner, &zero);
	if (val)
		__sync_fetch_and_add(val, 1);
	inner = bpf_map_lookup_elem(&mim_outer_hash, &key);
	if (inner)
		bpf_map_lookup_elem(inner, &zero);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
