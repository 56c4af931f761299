/* Section names newer than libbpf 1.1 (Debian 12's bpftool cannot open this
 * object; newer libbpf and the loader must): tcx/ingress and tcx/egress,
 * netkit/primary and netkit/peer, sk_skb/verdict, kprobe.session,
 * uprobe.multi, ksyscall (1.1 has it), netfilter, cgroup/connect_unix and
 * cgroup/sendmsg_unix, and a '?'-prefixed section (autoload off). */
#define __TARGET_ARCH_x86
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TC_ACT_OK 0
#define NF_ACCEPT 1

SEC("tcx/ingress")
int ns_tcx_in(struct __sk_buff *skb) { return TC_ACT_OK; }

SEC("tcx/egress")
int ns_tcx_out(struct __sk_buff *skb) { return TC_ACT_OK; }

SEC("netkit/primary")
int ns_netkit_primary(struct __sk_buff *skb) { return TC_ACT_OK; }

SEC("netkit/peer")
int ns_netkit_peer(struct __sk_buff *skb) { return TC_ACT_OK; }

SEC("sk_skb/verdict")
int ns_skb_verdict(struct __sk_buff *skb) { return 1; }

SEC("kprobe.session/do_nanosleep")
int ns_kprobe_session(struct pt_regs *ctx) { return 0; }

SEC("uprobe.multi")
int ns_uprobe_multi(struct pt_regs *ctx) { return 0; }

SEC("ksyscall/getpid")
int ns_ksyscall_getpid(struct pt_regs *ctx) { return 0; }

SEC("netfilter")
int ns_netfilter(struct bpf_nf_ctx *ctx) { return NF_ACCEPT; }

SEC("cgroup/connect_unix")
int ns_connect_unix(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/sendmsg_unix")
int ns_sendmsg_unix(struct bpf_sock_addr *ctx) { return 1; }

SEC("?xdp")
int ns_xdp_noautoload(struct xdp_md *ctx) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
