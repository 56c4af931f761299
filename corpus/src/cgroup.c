/* Cgroup program types and their expected attach types, all from section
 * names: cgroup_skb/ingress|egress, cgroup/skb, cgroup/sock_create,
 * cgroup/sock_release, cgroup/post_bind4, cgroup/bind4|6, cgroup/connect4|6,
 * cgroup/sendmsg4, cgroup/recvmsg4, cgroup/getpeername4, cgroup/getsockname6,
 * cgroup/dev, cgroup/sysctl, cgroup/getsockopt, cgroup/setsockopt, plus a
 * cgroup local storage map (BPF_MAP_TYPE_CGRP_STORAGE needs no attach). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} cg_counts SEC(".maps");

static __always_inline int cg_bump(__u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&cg_counts, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&cg_counts, &key, &one, BPF_ANY);
	return 1;
}

SEC("cgroup_skb/ingress")
int cg_skb_in(struct __sk_buff *skb) { return cg_bump(1); }

SEC("cgroup_skb/egress")
int cg_skb_out(struct __sk_buff *skb) { return cg_bump(2); }

SEC("cgroup/skb")
int cg_skb_any(struct __sk_buff *skb) { return cg_bump(3); }

SEC("cgroup/sock_create")
int cg_sock_create(struct bpf_sock *sk) { return cg_bump(4); }

SEC("cgroup/sock_release")
int cg_sock_release(struct bpf_sock *sk) { return cg_bump(5); }

SEC("cgroup/post_bind4")
int cg_post_bind4(struct bpf_sock *sk) { return cg_bump(6); }

SEC("cgroup/bind4")
int cg_bind4(struct bpf_sock_addr *ctx) { return cg_bump(7); }

SEC("cgroup/bind6")
int cg_bind6(struct bpf_sock_addr *ctx) { return cg_bump(8); }

SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx) { return cg_bump(9); }

SEC("cgroup/connect6")
int cg_connect6(struct bpf_sock_addr *ctx) { return cg_bump(10); }

SEC("cgroup/sendmsg4")
int cg_sendmsg4(struct bpf_sock_addr *ctx) { return cg_bump(11); }

SEC("cgroup/recvmsg4")
int cg_recvmsg4(struct bpf_sock_addr *ctx) { return cg_bump(12); }

SEC("cgroup/getpeername4")
int cg_getpeername4(struct bpf_sock_addr *ctx) { return cg_bump(13); }

SEC("cgroup/getsockname6")
int cg_getsockname6(struct bpf_sock_addr *ctx) { return cg_bump(14); }

SEC("cgroup/dev")
int cg_dev(struct bpf_cgroup_dev_ctx *ctx) { return cg_bump(15); }

SEC("cgroup/sysctl")
int cg_sysctl(struct bpf_sysctl *ctx) { return cg_bump(16); }

SEC("cgroup/getsockopt")
int cg_getsockopt(struct bpf_sockopt *ctx) { return cg_bump(17); }

SEC("cgroup/setsockopt")
int cg_setsockopt(struct bpf_sockopt *ctx) { return cg_bump(18); }

char LICENSE[] SEC("license") = "GPL";
