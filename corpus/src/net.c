/* Packet-path program types: xdp, xdp.frags, xdp/devmap and xdp/cpumap
 * (second-stage programs), tc (sched_cls) with direct packet access and
 * bpf_skb_load_bytes, tc/ingress-style classifier and action sections, and
 * lwt_in/lwt_out/lwt_xmit/lwt_seg6local; plus devmap, cpumap and xskmap maps
 * used for redirects. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} nt_devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} nt_cpumap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} nt_xsks SEC(".maps");

SEC("xdp")
int nt_xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return bpf_redirect_map(&nt_xsks, ctx->rx_queue_index, XDP_PASS);
	return bpf_redirect_map(&nt_devmap, 0, XDP_PASS);
}

SEC("xdp.frags")
int nt_xdp_frags(struct xdp_md *ctx)
{
	return bpf_xdp_get_buff_len(ctx) > 4096 ? XDP_DROP : bpf_redirect_map(&nt_cpumap, 0, 0);
}

SEC("xdp/devmap")
int nt_xdp_devmap(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp/cpumap")
int nt_xdp_cpumap(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int nt_tc_ingress(struct __sk_buff *skb)
{
	__u16 proto;

	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)) < 0)
		return TC_ACT_OK;
	return proto == bpf_htons(ETH_P_IP) ? TC_ACT_OK : TC_ACT_OK;
}

SEC("classifier")
int nt_classifier_legacy(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("action")
int nt_action(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("lwt_in")
int nt_lwt_in(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_out")
int nt_lwt_out(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_xmit")
int nt_lwt_xmit(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_seg6local")
int nt_lwt_seg6(struct __sk_buff *skb)
{
	return BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";
