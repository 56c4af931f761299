"""BTF built in code for the BTF tests: every kind, and a hypothesis strategy."""

from __future__ import annotations

from hypothesis import strategies as st

from loader.btf import Spec, encode_types, spec_from_types
from loader.btf import records as r
from loader.btf import types as t


def every_kind_types() -> list[t.Type]:
    """Ids 1.. in order; every kind, with each kflag meaning exercised."""
    return [
        t.Int("int", 4, r.BTF_INT_SIGNED, 0, 32),                      # 1
        t.Int("unsigned char", 1, r.BTF_INT_CHAR, 0, 8),               # 2
        t.Int("_Bool", 1, r.BTF_INT_BOOL, 0, 1),                       # 3
        t.Pointer(5),                                                  # 4
        t.Struct("s", 16, (                                            # 5
            t.Member("a", 1, 0, 3), t.Member("b", 1, 3, 5),
            t.Member("", 6, 32), t.Member("next", 4, 64),
        ), kflag=True),
        t.Union("u", 4, (t.Member("x", 1, 0), t.Member("y", 13, 0))),  # 6
        t.Enum("e_signed", 4, (t.EnumValue("NEG", -5), t.EnumValue("POS", 7)), signed=True),
        t.Enum("e_unsigned", 4, (t.EnumValue("BIG", 0xFFFFFFFF),)),    # 8
        t.Fwd("fwd_struct"),                                           # 9
        t.Fwd("fwd_union", union=True),                                # 10
        t.Typedef("myint", 1),                                         # 11
        t.Volatile(11),                                                # 12
        t.Const(1),                                                    # 13
        t.Restrict(4),                                                 # 14
        t.FuncProto(1, (t.FuncParam("p", 4), t.FuncParam("", 13))),    # 15
        t.Func("f_static", 15, r.BTF_FUNC_STATIC),                     # 16
        t.Func("f_global", 15, r.BTF_FUNC_GLOBAL),                     # 17
        t.Func("f_extern", 15, r.BTF_FUNC_EXTERN),                     # 18
        t.Var("v_static", 1, r.BTF_VAR_STATIC),                        # 19
        t.Var("v_global", 5, r.BTF_VAR_GLOBAL_ALLOCATED),              # 20
        t.Var("v_extern", 1, r.BTF_VAR_GLOBAL_EXTERN),                 # 21
        t.Datasec(".data", 24, (t.VarSecinfo(19, 0, 4), t.VarSecinfo(20, 8, 16))),  # 22
        t.Datasec(".kconfig", 0, (t.VarSecinfo(21, 0, 4), t.VarSecinfo(99, 4, 4))),  # 23
        t.Float("double", 8),                                          # 24
        t.DeclTag("tag_on_type", 5, -1),                               # 25
        t.DeclTag("tag_on_member", 5, 1),                              # 26
        t.TypeTag("user", 4),                                          # 27
        t.Enum64("e64_signed", 8, (t.EnumValue("M", -(1 << 62)), t.EnumValue("N", 1)),
                 signed=True),                                         # 28
        t.Enum64("e64_unsigned", 8, (t.EnumValue("H", (1 << 64) - 1),)),  # 29
        t.Array(1, 1, 10),                                             # 30
        t.Struct("plain", 8, (t.Member("p", 30, 0),)),                 # 31
    ]


def every_kind_blob(byte_order: r.ByteOrder = "<") -> bytes:
    types = every_kind_types()
    # Entry 99 of .kconfig is out of range on purpose: bpftool prints no suffix for it,
    # and decoding that DATASEC raises.
    types += [t.Int(f"pad{i}", 4, 0, 0, 32) for i in range(len(types) + 1, 99)]
    return encode_types(types, byte_order)


def valid_kinds_spec(byte_order: r.ByteOrder = "<") -> Spec:
    """every_kind_types() without the out-of-range entry: every type decodes."""
    types = every_kind_types()
    types[22] = t.Datasec(".kconfig", 0, (t.VarSecinfo(21, 0, 4),))
    return spec_from_types(types, byte_order)


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", max_size=8)
_u32 = st.integers(0, 0xFFFFFFFF)


@st.composite
def btf_types(draw: st.DrawFn, max_types: int = 12) -> list[t.Type]:
    """A list of types whose references stay within the list (ids 0..len)."""
    n = draw(st.integers(1, max_types))
    ref = st.integers(0, n)
    kinds = [
        st.builds(t.Int, _names, st.sampled_from([1, 2, 4, 8, 16]),
                  st.sampled_from([0, 1, 2, 4]), st.integers(0, 255), st.integers(0, 255),
                  st.booleans()),
        st.builds(t.Pointer, ref, st.just(""), st.booleans()),
        st.builds(t.Array, ref, ref, _u32),
        st.builds(t.Struct, _names, _u32, st.tuples() | st.lists(
            st.builds(t.Member, _names, ref, st.integers(0, 0xFFFFFF), st.integers(0, 255)),
            max_size=4).map(tuple), st.just(True)),
        st.builds(t.Union, _names, _u32, st.lists(
            st.builds(t.Member, _names, ref, _u32), max_size=4).map(tuple)),
        st.builds(t.Enum, _names, st.sampled_from([1, 2, 4, 8]), st.lists(
            st.builds(t.EnumValue, _names, st.integers(0, 0xFFFFFFFF)), max_size=3
        ).map(tuple)),
        st.builds(t.Enum, _names, st.just(4), st.lists(
            st.builds(t.EnumValue, _names, st.integers(-(1 << 31), (1 << 31) - 1)), max_size=3
        ).map(tuple), st.just(True)),
        st.builds(t.Fwd, _names, st.booleans()),
        st.builds(t.Typedef, _names, ref),
        st.builds(t.Volatile, ref), st.builds(t.Const, ref), st.builds(t.Restrict, ref),
        st.builds(t.Func, _names, ref, st.integers(0, 2)),
        st.builds(t.FuncProto, ref, st.lists(
            st.builds(t.FuncParam, _names, ref), max_size=3).map(tuple)),
        st.builds(t.Var, _names, ref, st.integers(0, 2)),
        st.builds(t.Datasec, _names, _u32, st.lists(
            st.builds(t.VarSecinfo, ref, _u32, _u32), max_size=3).map(tuple)),
        st.builds(t.Float, _names, st.sampled_from([2, 4, 8, 12, 16])),
        st.builds(t.DeclTag, _names, ref, st.integers(-1, 10)),
        st.builds(t.TypeTag, _names, ref),
        st.builds(t.Enum64, _names, st.just(8), st.lists(
            st.builds(t.EnumValue, _names, st.integers(0, (1 << 64) - 1)), max_size=3
        ).map(tuple)),
        st.builds(t.Enum64, _names, st.just(8), st.lists(
            st.builds(t.EnumValue, _names, st.integers(-(1 << 63), (1 << 63) - 1)), max_size=3
        ).map(tuple), st.just(True)),
    ]
    return [draw(st.one_of(kinds)) for _ in range(n)]
