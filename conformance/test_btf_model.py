"""The BTF_LOAD model without a kernel: corpus drift, version facts, robustness.

Expectations for older kernels come from the kernel source of that version; each
test names the fact it relies on (see loader/btf/validate_facts.py).
"""

from __future__ import annotations

import errno
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.btf_cases import CASES, CORPUS_DIR, build_all, expectations
from conformance.btf_raw import RawBTF
from loader.btf import records as r
from loader.btf.validate import BTF_MAX_SIZE, ENOTSUPP, Verdict, check
from loader.btf.validate_facts import parse_kernel

# ------------------------------------------------------------ the corpus ----


def test_table_has_at_least_60_cases_with_unique_names() -> None:
    names = [c.name for c in CASES]
    assert len(names) >= 60
    assert len(set(names)) == len(names)


def test_committed_blobs_match_definitions() -> None:
    blobs = build_all()
    on_disk = {p.stem: p.read_bytes() for p in CORPUS_DIR.glob("*.btf")}
    assert sorted(on_disk) == sorted(blobs), "run: python -m conformance.btf_cases --write"
    drifted = [name for name, blob in blobs.items() if on_disk[name] != blob]
    assert not drifted, f"blobs drifted from conformance/btf_cases.py: {drifted}"


def test_committed_expectations_match_model() -> None:
    committed = json.loads((CORPUS_DIR / "cases.json").read_text())
    assert committed == expectations(build_all()), (
        "corpus/btf/cases.json drifted: rerun python -m conformance.btf_cases --write "
        "and review the diff"
    )


def test_both_verdicts_present_in_table() -> None:
    verdicts = [check(c.build(), "6.18") for c in CASES]
    assert sum(v.accepted for v in verdicts) >= 15
    assert {v.errno for v in verdicts} >= {errno.EINVAL, errno.E2BIG, errno.EEXIST,
                                           errno.ELOOP, ENOTSUPP}


# ------------------------------------------------------------ the API -------


def test_verdict_shape() -> None:
    blob = next(c for c in CASES if c.name == "valid_int").build()
    assert check(blob, "6.18") == Verdict(True, None, "accepted")
    assert check(bytearray(blob), (6, 18)).accepted
    assert check(memoryview(blob), "6.18.44-fc-v669").accepted


def test_non_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        check("not bytes", "6.1")  # type: ignore[arg-type]


@pytest.mark.parametrize("text, want", [("5.10", (5, 10)), ("6.18.44-fc-v669", (6, 18)),
                                        ((6, 1), (6, 1)), ("7.2.13+deb14-amd64", (7, 2))])
def test_parse_kernel(text: str | tuple[int, int], want: tuple[int, int]) -> None:
    assert parse_kernel(text) == want


def test_parse_kernel_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_kernel("linux")


def test_oversized_blob_is_e2big() -> None:
    # btf_parse: attr->btf_size > BTF_MAX_SIZE (16 MiB) -> E2BIG before any parsing
    assert check(bytes(BTF_MAX_SIZE + 1), "6.18").errno == errno.E2BIG
    assert check(bytes(BTF_MAX_SIZE), "6.18").errno == errno.EINVAL  # then: bad magic


# ----------------------------------------------------- older kernels ------
# Each expectation below is a fact of the kernel source of that version.


def _blob(name: str) -> bytes:
    return next(c for c in CASES if c.name == name).build()


def test_enum64_rejected_before_6_0() -> None:
    # BTF_KIND_ENUM64 (19) arrived in 6.0; 5.15's BTF_KIND_MAX is FLOAT (16), so
    # btf_check_meta answers "Invalid kind:19" with EINVAL.
    v = check(_blob("enum64_ok"), "5.15")
    assert (v.accepted, v.errno) == (False, errno.EINVAL)
    assert "Invalid kind:19" in v.reason
    assert check(_blob("enum64_ok"), "6.0").accepted


def test_signed_enum_rejected_before_6_0() -> None:
    # before 6.0 btf_enum_check_meta rejected any kind_flag on ENUM
    v = check(_blob("enum_kflag_signed"), "5.19")
    assert (v.accepted, v.errno) == (False, errno.EINVAL)
    assert "kind_flag" in v.reason
    assert check(_blob("enum_kflag_signed"), "6.0").accepted


@pytest.mark.parametrize("case_name, first_kernel", [
    ("float_ok", (5, 13)),          # BTF_KIND_FLOAT
    ("decl_tag_ok", (5, 16)),       # BTF_KIND_DECL_TAG
    ("type_tag_ok", (5, 17)),       # BTF_KIND_TYPE_TAG
    ("datasec_ok", (5, 2)),         # BTF_KIND_VAR / BTF_KIND_DATASEC
    ("func_ok", (5, 6)),            # FUNC_PROTO 5.0, global linkage in FUNC's vlen 5.6
])
def test_kinds_appear_in_their_release(case_name: str, first_kernel: tuple[int, int]) -> None:
    blob = _blob(case_name)
    major, minor = first_kernel
    before = (major, minor - 1) if minor else (major - 1, 20)
    assert check(blob, first_kernel).accepted
    v = check(blob, before)
    assert (v.accepted, v.errno) == (False, errno.EINVAL), v


def test_func_linkage_before_5_6() -> None:
    # 5.0-5.5: btf_func_check_meta required vlen == 0; static FUNCs passed
    b = RawBTF()
    b.int_()
    fp = b.func_proto(1, [("a", 1)])
    b.func("f", fp, linkage=r.BTF_FUNC_STATIC)
    assert check(b.blob(), "5.4").accepted
    assert "vlen != 0" in check(_blob("func_ok"), "5.4").reason


def test_names_before_6_1_are_limited_to_128() -> None:
    # KSYM_NAME_LEN was 128 before 6.1
    b = RawBTF()
    b.int_()
    b.struct("s" * 129, 4, [("a", 1, 0)])
    assert check(b.blob(), "6.1").accepted
    assert check(b.blob(), "6.0").errno == errno.EINVAL


def test_dots_in_identifiers_since_6_4_and_in_stable_lines() -> None:
    # 9724160b3942 (6.4), backported to 6.3.10 and (seen on Debian kernels) 5.10 and 6.1
    for line in ("6.4", "6.3", "6.1", "5.10"):
        assert check(_blob("struct_name_with_dot"), line).accepted, line
    for line in ("6.2", "6.0", "5.15", "5.4"):
        assert check(_blob("struct_name_with_dot"), line).errno == errno.EINVAL, line


def test_func_proto_source_only_types() -> None:
    # return type: ea68376c8bed (6.1); argument: 6.2 and stable 5.10/6.0/6.1
    assert check(_blob("proto_ret_var"), "6.1").errno == errno.EINVAL
    assert check(_blob("proto_ret_var"), "6.0").accepted
    assert check(_blob("proto_arg_var"), "6.0").errno == errno.EINVAL
    assert check(_blob("proto_arg_var"), "5.15").accepted


def test_typedef_of_func_since_func_resolve() -> None:
    # d7e7b42f4f95 (5.17, stable 5.16): FUNC is resolved, so a modifier may point at it
    assert check(_blob("typedef_of_func"), "5.16").accepted
    assert check(_blob("typedef_of_func"), "5.15").errno == errno.EINVAL


def test_modifier_chain_walk_since_5_19_and_tag_order_until_7_2() -> None:
    assert check(_blob("modifier_chain_eloop"), "5.19").errno == errno.ELOOP
    assert check(_blob("modifier_chain_eloop"), "5.18").accepted
    assert check(_blob("modifier_chain_eloop"), "7.2").errno == errno.ELOOP
    assert check(_blob("type_tag_after_const"), "5.18").accepted
    assert check(_blob("type_tag_after_const"), "7.1").errno == errno.EINVAL
    assert check(_blob("type_tag_after_const"), "7.2").accepted


def test_layout_section_since_7_1() -> None:
    assert check(_blob("hdr_layout_ok"), "7.1").accepted
    assert check(_blob("hdr_layout_before_strings"), "7.1").accepted
    assert check(_blob("hdr_layout_ok"), "7.0").errno == errno.E2BIG
    for name in ("hdr_layout_len_6", "hdr_layout_unaligned", "hdr_nonzero_trailer"):
        assert check(_blob(name), "7.2").errno == errno.EINVAL, name


def test_printable_datasec_names_since_6_9() -> None:
    # before 6.9 a DATASEC name was an identifier that may contain '.'
    assert check(_blob("datasec_name_qmark"), "6.9").accepted
    assert check(_blob("datasec_name_qmark"), "6.8").errno == errno.EINVAL
    assert check(_blob("datasec_ok"), "5.2").accepted


def test_tag_kflag_since_6_14() -> None:
    for name in ("decl_tag_kflag", "type_tag_kflag"):
        assert check(_blob(name), "6.14").accepted
        assert check(_blob(name), "6.13").errno == errno.EINVAL


# --------------------------------------------------------- robustness -----

_VALID = [c.build() for c in CASES if check(c.build(), "6.18").accepted]


@st.composite
def mutated_blobs(draw: st.DrawFn) -> bytes:
    blob = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set32", "truncate", "insert"]))
        pos = draw(st.integers(0, max(len(blob) - 1, 0)))
        if op == "flip" and blob:
            blob[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set32" and len(blob) >= 4:
            pos = min(pos, len(blob) - 4) & ~3
            blob[pos:pos + 4] = draw(st.sampled_from(
                [0, 1, 0xFFFFFFFF, 0x80000000, 0xFFFFF, 0x7FFFFFFF, 24, 32, 33]
            )).to_bytes(4, "little")
        elif op == "truncate":
            del blob[pos:]
        else:
            blob[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(blob)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blob=mutated_blobs(), kernel=st.sampled_from(["5.4", "5.10", "6.1", "6.18", "7.2"]))
def test_model_never_raises_on_mutated_blobs(blob: bytes, kernel: str) -> None:
    v = check(blob, kernel)
    assert (v.errno is None) == v.accepted
    assert v.reason


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=256))
def test_model_never_raises_on_random_bytes(blob: bytes) -> None:
    v = check(blob, "6.18")
    assert not v.accepted or blob[:2] == b"\x9f\xeb"


# ----------------------------------------------------------------- CLI ----


def test_cli_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    from loader.cli import main

    path = CORPUS_DIR / "enum64_ok.btf"
    assert main(["btf", "check", str(path), "--kernel", "5.15", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out == {"accepted": False, "errno": errno.EINVAL, "reason": "[1] Invalid kind:19"}
    assert main(["btf", "check", str(path), "--kernel", "6.0"]) == 0
    assert capsys.readouterr().out.startswith("accepted")
