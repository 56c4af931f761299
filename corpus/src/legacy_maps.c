/* Legacy map definitions in SEC("maps"), the iproute2 (tc) way: struct
 * bpf_elf_map with fields past libbpf's five-field bpf_map_def (id, pinning,
 * inner_id, inner_idx), so each definition is 36 bytes, and a program in the
 * "classifier" section using them. libbpf 1.x refuses SEC("maps") (bpftool
 * 7.1 cannot load this); cilium/ebpf and our loader accept it and keep the
 * extra bytes. No .BTF map types are involved. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

#define PIN_GLOBAL_NS 2

struct bpf_elf_map lg_counters SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 4,
	.pinning = PIN_GLOBAL_NS,
};

struct bpf_elf_map lg_flows SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 1024,
	.flags = BPF_F_NO_PREALLOC,
	.id = 7,
};

SEC("classifier")
int lg_classify(struct __sk_buff *skb)
{
	__u32 key = 0, mark = skb->mark;
	__u64 *cnt = bpf_map_lookup_elem(&lg_counters, &key);

	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	bpf_map_update_elem(&lg_flows, &mark, &key, BPF_ANY);
	return TC_ACT_OK;
}

char __license[] SEC("license") = "GPL";
__u32 __version SEC("version") = 0x060000;
