/* Subprograms: static noinline functions and global (BTF_FUNC_GLOBAL)
 * functions in .text called from two tc programs (bpf2bpf calls, so callees
 * are shared and must be linked into each caller), a call chain three deep,
 * and a global function with a pointer-to-ctx argument that the kernel
 * verifies on its own. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

static __attribute__((noinline)) __u32 sp_mix(__u32 a, __u32 b)
{
	return (a * 31) ^ (b + 7);
}

static __attribute__((noinline)) __u32 sp_twice(__u32 a)
{
	return sp_mix(a, a) + sp_mix(a, 1);
}

__attribute__((noinline)) int sp_global_len(struct __sk_buff *skb)
{
	if (!skb)
		return 0;
	return skb->len;
}

__attribute__((noinline)) __u32 sp_global_hash(__u32 x)
{
	return sp_twice(x) ^ 0x9e3779b9;
}

static __attribute__((noinline)) int sp_odd(__u32 v)
{
	return v & 1;
}

SEC("tc")
int sp_ingress(struct __sk_buff *skb)
{
	__u32 h = sp_global_hash(skb->mark);

	if (sp_odd(h))
		return TC_ACT_OK;
	return sp_global_len(skb) > 1500 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int sp_egress(struct __sk_buff *skb)
{
	return sp_twice(skb->priority) == 3 ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
