/* Socket-level program types with the maps they work on: sockmap and
 * sockhash, sk_skb/stream_parser, sk_skb/stream_verdict, plain sk_skb,
 * sk_msg, sockops, sk_lookup, sk_reuseport with a reuseport sockarray,
 * flow_dissector, and a classic socket filter (SEC("socket")). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define SK_PASS 1

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} sk_sockmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} sk_sockhash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sk_reuse_array SEC(".maps");

SEC("sk_skb/stream_parser")
int sk_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int sk_stream_verdict(struct __sk_buff *skb)
{
	return bpf_sk_redirect_map(skb, &sk_sockmap, 0, 0);
}

SEC("sk_skb")
int sk_skb_verdict(struct __sk_buff *skb)
{
	__u32 key = skb->remote_port & 7;

	return bpf_sk_redirect_hash(skb, &sk_sockhash, &key, 0);
}

SEC("sk_msg")
int sk_msg_pass(struct sk_msg_md *msg)
{
	return bpf_msg_redirect_map(msg, &sk_sockmap, 1, 0);
}

SEC("sockops")
int sk_sockops_track(struct bpf_sock_ops *ops)
{
	__u32 key = ops->local_port & 7;

	if (ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		bpf_sock_hash_update(ops, &sk_sockhash, &key, BPF_ANY);
	return 1;
}

SEC("sk_lookup")
int sk_lookup_pass(struct bpf_sk_lookup *ctx)
{
	return ctx->local_port == 1 ? SK_PASS : SK_PASS;
}

SEC("sk_reuseport")
int sk_reuseport_pick(struct sk_reuseport_md *md)
{
	__u32 key = md->hash & 3;

	bpf_sk_select_reuseport(md, &sk_reuse_array, &key, 0);
	return SK_PASS;
}

SEC("flow_dissector")
int sk_dissect(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("socket")
int sk_filter_all(struct __sk_buff *skb)
{
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
