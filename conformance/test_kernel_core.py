"""loader.kernel.core on malformed relocations: every one is a RelocationError
naming the relocation, never a wrong answer or a raw exception (no kernel needed)."""

from __future__ import annotations

import pytest

from loader.btf import spec_from_types
from loader.btf import types as t
from loader.btf.ext import CoreRelo
from loader.errors import RelocationError
from loader.kernel import core

_SPEC = spec_from_types([
    t.Int("int", 4, 1, 0, 32),                                          # 1
    t.Struct("s", 8, (t.Member("a", 1, 0), t.Member("b", 1, 32))),     # 2
    t.Struct("z", 0, ()),                                               # 3
    t.Struct("bf", 4, (t.Member("q", 3, 0, 3),), kflag=True),           # 4
    t.Enum("e", 4, (t.EnumValue("X", 1), t.EnumValue("Y", 2))),        # 5
])


def _compute(type_id: int, access: str, kind: int) -> core.Result:
    return core.Relocator(_SPEC, _SPEC).compute(CoreRelo(0, type_id, access, kind))


def test_wellformed_relocations_resolve() -> None:
    assert _compute(2, "0:1", core.FIELD_BYTE_OFFSET).new == 4
    assert _compute(5, "1", core.ENUMVAL_VALUE).new == 2


@pytest.mark.parametrize(("type_id", "access", "kind"), [
    # Python indexing would take these as the last member / enumerator.
    (2, "0:-1", core.FIELD_BYTE_OFFSET),
    (5, "-1", core.ENUMVAL_VALUE),
    (2, "-1", core.FIELD_BYTE_OFFSET),
    # int() would take these.
    (2, "0:+1", core.FIELD_BYTE_OFFSET),
    (2, "0: 1", core.FIELD_BYTE_OFFSET),
    (2, "0:\u0661", core.FIELD_BYTE_OFFSET),  # ARABIC-INDIC DIGIT ONE
    (2, "", core.FIELD_BYTE_OFFSET),
    (2, "0::1", core.FIELD_BYTE_OFFSET),
    (2, f"{1 << 31}", core.FIELD_BYTE_OFFSET),
])
def test_malformed_access_string(type_id: int, access: str, kind: int) -> None:
    with pytest.raises(RelocationError, match=r"access .*(malformed|out of range)"):
        _compute(type_id, access, kind)


def test_bitfield_of_a_zero_size_type() -> None:
    with pytest.raises(RelocationError, match=r"on type id 4 access '0:0': bitfield of 3 bits "
                                              r"in a type of size 0"):
        _compute(4, "0:0", core.FIELD_BYTE_OFFSET)


def test_path_errors_name_the_relocation() -> None:
    with pytest.raises(RelocationError, match=r"^CO-RE relocation byte_off at insn_off 0 on "
                                              r"type id 2 access '0:0:0': access index 0 into"):
        _compute(2, "0:0:0", core.FIELD_BYTE_OFFSET)
