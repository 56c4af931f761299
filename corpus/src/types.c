/* BTF type variety without vmlinux.h: bitfields (kind_flag set, odd widths
 * and a bitfield straddling a byte), float and double, signed and unsigned
 * enums, a 64-bit enum (BTF_KIND_ENUM64 from clang 15+; clang 14 emits a plain
 * ENUM of size 8), unions (named and anonymous), nested anonymous structs,
 * arrays of arrays, function pointers, typedef chains, const/volatile/
 * restrict, btf_decl_tag on a struct, a member, a variable, a function and a
 * parameter, and btf_type_tag on pointers; all reachable from a global
 * variable or a socket filter program so they land in .BTF. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ptag(x) __attribute__((btf_type_tag(x)))

enum ty_color { TY_RED = -1, TY_GREEN = 0, TY_BLUE = 7 };
enum ty_unsigned { TY_U_ZERO = 0, TY_U_TOP = 0xffffffffu };
enum ty_wide { TY_WIDE_SMALL = 1, TY_WIDE_BIG = 0x1234567890ULL };

typedef unsigned int ty_u32;
typedef ty_u32 ty_id_t;
typedef long (*ty_callback_t)(int, const char *);

struct ty_bits {
	unsigned int lo : 3;
	unsigned int mid : 7;
	int neg : 5;
	unsigned long long wide : 40;
	unsigned char flag : 1;
} __tag("bpfconform:bits");

union ty_value {
	__u64 u;
	double d;
	float f[2];
	struct ty_bits bits;
};

struct ty_record {
	ty_id_t id __tag("key");
	enum ty_color color;
	enum ty_wide wide;
	union ty_value value;
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	};
	struct {
		__u16 x, y;
	} point;
	__u8 matrix[2][3];
	const volatile __u32 cv;
	ty_callback_t cb;
	int *__ptag("user") uptr;
	char *__ptag("percpu") __ptag("rcu") twice_tagged;
	long double_pad[0];
} __tag("bpfconform:record");

struct ty_record ty_sample __tag("sample") = {
	.id = 1,
	.color = TY_BLUE,
	.wide = TY_WIDE_BIG,
	.value = { .d = 2.5 },
};

enum ty_unsigned ty_u_sample = TY_U_TOP;
float ty_scale = 1.5f;

static __attribute__((noinline)) __tag("helper") int ty_sum(struct ty_record *r __tag("rec"))
{
	union ty_value v = r->value;

	return v.bits.lo + v.bits.mid + v.bits.neg + r->point.x + r->matrix[1][2] + r->as_bytes[3];
}

SEC("socket")
int ty_filter(struct __sk_buff *skb)
{
	ty_sample.value.bits.mid = skb->len;
	ty_sample.as_u32 = skb->protocol;
	return ty_sum(&ty_sample) + (ty_u_sample == TY_U_TOP) + (ty_sample.color == TY_RED);
}

char LICENSE[] SEC("license") = "GPL";
