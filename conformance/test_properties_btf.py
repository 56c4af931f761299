"""Properties of generated BTF: round trip, model vs kernel, invalid blobs."""

from __future__ import annotations

import pytest
from hypothesis import given

from conformance.generators import BTFShape, InvalidBTF, btf_specs, invalid_btf
from conformance.generators.regress import recorded
from conformance.kernel_support import kernel_marks
from loader.btf import encode, parse_raw
from loader.btf.validate import check
from loader.errors import BTFError, KernelError


@pytest.mark.parametrize("byte_order", ["<", ">"])
@given(shape=btf_specs())
def test_round_trip(shape: BTFShape, byte_order: str) -> None:
    blob = shape.encode(byte_order)  # type: ignore[arg-type]
    with recorded(f"btf_round_trip_{'le' if byte_order == '<' else 'be'}", "round_trip", blob):
        spec = parse_raw(blob)
        assert tuple(spec.types()) == shape.types
        assert encode(spec) == blob


@given(shape=btf_specs())
def test_model_accepts_valid(shape: BTFShape) -> None:
    blob = shape.encode("<")
    with recorded("btf_model_accepts_valid", "model", blob):
        assert check(blob, "6.18").accepted, check(blob, "6.18").reason


@given(case=invalid_btf())
def test_model_rejects_invalid(case: InvalidBTF) -> None:
    with recorded("btf_model_rejects_invalid", "model_invalid", case.blob, rule=case.rule):
        verdict = check(case.blob, "6.18")
        assert (verdict.accepted, verdict.errno) == (False, case.expected_errno), verdict.reason


def _kernel_verdict(blob: bytes) -> tuple[bool, int | None]:
    from loader.kernel import bpf

    try:
        bpf.btf_load(blob).close()
    except KernelError as exc:
        return False, exc.errno
    return True, None




class TestKernel:
    pytestmark = kernel_marks()

    @given(shape=btf_specs(kernel="host"))
    def test_kernel_accepts_valid(self, shape: BTFShape) -> None:
        blob = shape.encode("<")
        with recorded("btf_kernel_valid", "kernel", blob):
            model = check(blob, "host")
            assert (model.accepted, model.errno) == _kernel_verdict(blob)

    @given(case=invalid_btf(kernel="host"))
    def test_kernel_agrees_on_invalid(self, case: InvalidBTF) -> None:
        with recorded("btf_kernel_invalid", "kernel", case.blob, rule=case.rule):
            assert _kernel_verdict(case.blob) == (False, case.expected_errno)
            model = check(case.blob, "host")
            assert (model.accepted, model.errno) == (False, case.expected_errno)


# Rules whose violation is structural: the parser itself must refuse the blob.
_STRUCTURAL = {
    "hdr.hdr_len_not_found", "hdr.btf_header_not_found", "hdr.magic", "hdr.version",
    "hdr.flags", "sec.gap", "sec.overlap", "sec.past_end", "sec.offset_past_end",
    "sec.trailing_data", "str.empty", "str.not_nul_terminated", "str.first_not_nul",
    "info.kind", "meta.truncated", "str.name_off_range",
}


@given(case=invalid_btf(rules=sorted(_STRUCTURAL)))
def test_parser_refuses_structural(case: InvalidBTF) -> None:
    with recorded("btf_parser_structural", "parser", case.blob, rule=case.rule):
        if case.rule == "hdr.magic" and case.blob[:2] == b"\xeb\x9f":
            # The kernel reads only its own byte order, but the parser is specified to
            # read both: a big-endian blob must parse, as big-endian, and validate.
            spec = parse_raw(case.blob)
            spec.validate()
            assert spec.byte_order == ">"
            return
        with pytest.raises(BTFError):
            parse_raw(case.blob).validate()
