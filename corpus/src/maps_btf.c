/* BTF-defined maps of many types in ".maps": hash, array, percpu hash/array,
 * lru hash, lru percpu hash, lpm trie (needs BPF_F_NO_PREALLOC), ringbuf
 * (no key/value, max_entries in bytes), perf event array (sizes only), queue
 * (no key), stack trace, bloom filter (map_extra), and a pinned map
 * (LIBBPF_PIN_BY_NAME), used from a tracepoint program so every map is
 * referenced by a relocation. Loading with libbpf pins the last map at
 * /sys/fs/bpf/mb_pinned: remove it after trying. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct event {
	__u32 pid;
	__u64 ts_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} mb_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct event);
} mb_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u32);
} mb_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} mb_percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} mb_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, __u32);
	__type(value, __u32);
} mb_lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
} mb_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} mb_ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} mb_perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, __u32);
} mb_queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 32);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} mb_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 100);
	__uint(map_extra, 3);
	__type(value, __u32);
} mb_bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, __u32);
} mb_pinned SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int mb_getpid(void *ctx)
{
	__u32 zero = 0, pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *cnt;
	struct event *ev;
	struct lpm_v4_key lk = { .prefixlen = 32, .addr = { 10, 0, 0, 1 } };

	cnt = bpf_map_lookup_elem(&mb_hash, &pid);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&mb_hash, &pid, &one, BPF_NOEXIST);

	ev = bpf_map_lookup_elem(&mb_array, &zero);
	if (ev) {
		ev->pid = pid;
		ev->ts_ns = bpf_ktime_get_ns();
		bpf_perf_event_output(ctx, &mb_perf, BPF_F_CURRENT_CPU, ev, sizeof(*ev));
		bpf_ringbuf_output(&mb_ringbuf, ev, sizeof(*ev), 0);
	}

	cnt = bpf_map_lookup_elem(&mb_percpu_array, &zero);
	if (cnt)
		*cnt += 1;
	bpf_map_update_elem(&mb_percpu_hash, &one, &pid, BPF_ANY);
	bpf_map_update_elem(&mb_lru, &pid, &pid, BPF_ANY);
	bpf_map_update_elem(&mb_lru_percpu, &pid, &pid, BPF_ANY);
	bpf_map_lookup_elem(&mb_lpm, &lk);
	bpf_map_push_elem(&mb_queue, &pid, BPF_EXIST);
	bpf_get_stackid(ctx, &mb_stacks, 0);
	bpf_map_push_elem(&mb_bloom, &pid, 0);
	bpf_map_lookup_elem(&mb_pinned, &zero);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
