/* Global data: .data, .rodata, .bss, custom .data.NAME / .rodata.NAME
 * sections, a const volatile knob (the usual "set before load" pattern),
 * string constants in .rodata.str1.1 (via bpf_printk and a static char
 * array), static (local) and global variables, arrays and a struct, all read
 * or written from a cgroup_skb program. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct gl_settings {
	__u32 mode;
	__u16 port;
	__u8 enabled;
};

const volatile __u32 gl_verbose = 0;		 /* .rodata */
const volatile struct gl_settings gl_defaults = { /* .rodata */
	.mode = 2,
	.port = 443,
	.enabled = 1,
};
__u64 gl_packets = 1;				 /* .data */
__u64 gl_bytes;					 /* .bss */
static __u32 gl_last_len;			 /* .bss, local symbol */
__u32 gl_hist[8] SEC(".data.histogram") = { 1, 2, 3, 4, 5, 6, 7, 8 };
const char gl_banner[] SEC(".rodata.banner") = "bpfconform";
__u32 gl_custom_zero SEC(".data.zeroed");

SEC("cgroup_skb/ingress")
int gl_count(struct __sk_buff *skb)
{
	static const char fmt[] = "len %u mode %u";

	__sync_fetch_and_add(&gl_packets, 1);
	__sync_fetch_and_add(&gl_bytes, skb->len);
	gl_last_len = skb->len;
	gl_hist[skb->len & 7]++;
	gl_custom_zero = gl_banner[skb->len & 7];
	if (gl_verbose) {
		bpf_trace_printk(fmt, sizeof(fmt), skb->len, gl_defaults.mode);
		bpf_printk("banner %s", gl_banner);
	}
	return gl_defaults.enabled ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
