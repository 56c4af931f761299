"""CO-RE: relocating field offsets, sizes, type ids and enum values against the
kernel's BTF, as libbpf's relo_core.c defines the semantics (own code).

A relocation names a local type (``type_id`` in the object's BTF), an access
string ("0:1:2": an array index on the root, then member or element indices)
and a kind.  The local access path is resolved in the object's BTF; candidates
are the target types with the same essential name ("task_struct___old" ->
"task_struct") and kind; each candidate that matches the path by member names
yields a value, and all matching candidates must agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from loader.asm import opcodes as op
from loader.asm.instruction import Instruction
from loader.btf import types as t
from loader.btf.ext import CoreRelo
from loader.btf.spec import Spec
from loader.errors import BTFError, RelocationError

# Unsigned decimal indices below 2**31, as cilium/ebpf parses them: int() alone
# would take "-1" (and Python indexing would then pick the last member), "+1",
# " 1" and non-ASCII digits.
_ACCESS_RE = re.compile(r"[0-9]+(?::[0-9]+)*", re.ASCII)
_ACCESS_MAX = (1 << 31) - 1

# enum bpf_core_relo_kind (include/uapi/linux/bpf.h).
FIELD_BYTE_OFFSET = 0
FIELD_BYTE_SIZE = 1
FIELD_EXISTS = 2
FIELD_SIGNED = 3
FIELD_LSHIFT_U64 = 4
FIELD_RSHIFT_U64 = 5
TYPE_ID_LOCAL = 6
TYPE_ID_TARGET = 7
TYPE_EXISTS = 8
TYPE_SIZE = 9
ENUMVAL_EXISTS = 10
ENUMVAL_VALUE = 11
TYPE_MATCHES = 12

KIND_NAMES = {
    FIELD_BYTE_OFFSET: "byte_off", FIELD_BYTE_SIZE: "byte_sz", FIELD_EXISTS: "field_exists",
    FIELD_SIGNED: "signed", FIELD_LSHIFT_U64: "lshift_u64", FIELD_RSHIFT_U64: "rshift_u64",
    TYPE_ID_LOCAL: "local_type_id", TYPE_ID_TARGET: "target_type_id",
    TYPE_EXISTS: "type_exists", TYPE_SIZE: "type_size", ENUMVAL_EXISTS: "enumval_exists",
    ENUMVAL_VALUE: "enumval_value", TYPE_MATCHES: "type_matches",
}
_FIELD_KINDS = frozenset(range(FIELD_BYTE_OFFSET, FIELD_RSHIFT_U64 + 1))
_TYPE_KINDS = frozenset((TYPE_ID_LOCAL, TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE, TYPE_MATCHES))
_ENUM_KINDS = frozenset((ENUMVAL_EXISTS, ENUMVAL_VALUE))
# Kinds whose answer for "no matching candidate" is a value (0), not a failure.
_EXISTENCE_KINDS = frozenset((FIELD_EXISTS, TYPE_EXISTS, ENUMVAL_EXISTS, TYPE_MATCHES))
# libbpf's poison: a call to this non-existent helper fails verification only if reached.
POISON_HELPER = 0xBAD2310

_MODS = (t.Typedef, t.Const, t.Volatile, t.Restrict, t.TypeTag)


def essential_name(name: str) -> str:
    """``name`` without its ``___flavor`` suffix (libbpf: the last ``x___y``)."""
    for i in range(len(name) - 5, -1, -1):
        if (name[i] != "_" and name[i + 1:i + 4] == "___" and name[i + 4] != "_"):
            return name[:i + 1]
    return name


def skip_mods(btf: Spec, type_id: int) -> tuple[int, t.Type]:
    for _ in range(64):
        typ = btf.type_by_id(type_id)
        if not isinstance(typ, _MODS):
            return type_id, typ
        type_id = typ.type
    raise BTFError(f"type id {type_id}: modifier chain too deep")


def _kind_group(typ: t.Type) -> int:
    # ENUM and ENUM64 are interchangeable for CO-RE.
    return t.Enum.kind if isinstance(typ, t.Enum64) else typ.kind


@dataclass(frozen=True)
class Field:
    """Where a field access path ends: bit offset from the root, the field's type,
    and for bitfields their size in bits (0 otherwise)."""

    bit_offset: int
    type_id: int
    bitfield_bits: int


@dataclass(frozen=True)
class Result:
    """The original (local) value and the new (target) value of one relocation."""

    orig: int
    new: int
    poison: bool = False
    orig_size: int = 0
    new_size: int = 0
    # LLVM computes bitfield loads its own way (whole storage units), so libbpf
    # does not compare the compiler's value with its own for bitfields.
    validate: bool = True


def _members(typ: t.Type) -> tuple[t.Member, ...]:
    return typ.members if isinstance(typ, t.Struct | t.Union) else ()


def _local_path(btf: Spec, root: int, access: list[int]) -> tuple[Field, list[str | int]]:
    """Resolve the access path locally; returns the field and the path as member
    names (str) and array indices (int) after the root index."""
    _, rtyp = skip_mods(btf, root)
    bit = access[0] * 8 * btf.size_of(root) if access[0] else 0
    cur = root
    path: list[str | int] = []
    bf = 0
    for idx in access[1:]:
        _, typ = skip_mods(btf, cur)
        if isinstance(typ, t.Struct | t.Union):
            if idx >= len(typ.members):
                raise RelocationError(f"member index {idx} past {len(typ.members)} members")
            m = typ.members[idx]
            bit += m.offset_bits
            cur = m.type
            bf = m.bitfield_size_bits
            path.append(m.name or idx)
        elif isinstance(typ, t.Array):
            bit += idx * 8 * btf.size_of(typ.type)
            cur = typ.type
            bf = 0
            path.append(idx)
        else:
            raise RelocationError(f"access index {idx} into a {type(typ).__name__}")
    del rtyp
    return Field(bit, cur, bf), path


def _find_member(btf: Spec, comp: t.Type, name: str, bit: int
                 ) -> tuple[t.Member, int] | None:
    """Member ``name`` of a struct/union, looking through anonymous members."""
    for m in _members(comp):
        if m.name == name:
            return m, bit + m.offset_bits
        if not m.name:
            _, inner = skip_mods(btf, m.type)
            found = _find_member(btf, inner, name, bit + m.offset_bits)
            if found is not None:
                return found
    return None


def _compatible(lbtf: Spec, lid: int, tbtf: Spec, tid: int) -> bool:
    """libbpf's "fields are compatible": same shape after modifiers, loosely."""
    for _ in range(32):
        _, lt = skip_mods(lbtf, lid)
        _, tt = skip_mods(tbtf, tid)
        if isinstance(lt, t.Struct | t.Union) and isinstance(tt, t.Struct | t.Union | t.Fwd):
            return True
        if _kind_group(lt) != _kind_group(tt):
            return False
        if isinstance(lt, t.Array) and isinstance(tt, t.Array):
            lid, tid = lt.type, tt.type
            continue
        return True
    return False


def _target_path(lbtf: Spec, lfield_root: int, access: list[int], path: list[str | int],
                 tbtf: Spec, troot: int) -> Field | None:
    """Follow the local path through the target type by member names."""
    bit = access[0] * 8 * tbtf.size_of(troot) if access[0] else 0
    cur = troot
    lcur = lfield_root
    bf = 0
    for step, lidx in zip(path, access[1:], strict=True):
        _, typ = skip_mods(tbtf, cur)
        _, ltyp = skip_mods(lbtf, lcur)
        if isinstance(step, str) and isinstance(ltyp, t.Struct | t.Union):
            found = _find_member(tbtf, typ, step, bit)
            if found is None:
                return None
            m, bit = found
            lm = ltyp.members[lidx]
            if not _compatible(lbtf, lm.type, tbtf, m.type):
                return None
            cur, lcur, bf = m.type, lm.type, m.bitfield_size_bits
        elif isinstance(ltyp, t.Array):
            if not isinstance(typ, t.Array):
                return None
            if typ.nelems and step >= typ.nelems:  # type: ignore[operator]
                return None
            bit += int(step) * 8 * tbtf.size_of(typ.type)
            cur, lcur, bf = typ.type, ltyp.type, 0
        else:
            # An anonymous member addressed by index: take the same index.
            mems = _members(typ)
            if not isinstance(step, int) or step >= len(mems):
                return None
            m = mems[step]
            bit += m.offset_bits
            cur, lcur, bf = m.type, ltyp.members[lidx].type, m.bitfield_size_bits  # type: ignore[union-attr]
    return Field(bit, cur, bf)


def is_bitfield(btf: Spec, fld: Field) -> bool:
    _, ftyp = skip_mods(btf, fld.type_id)
    return bool(fld.bitfield_bits) or (isinstance(ftyp, t.Int) and ftyp.bits != 8 * ftyp.size)


def _field_value(btf: Spec, fld: Field, kind: int, byte_order: str) -> tuple[int, int]:
    """(value, field byte size) of a field relocation."""
    _, ftyp = skip_mods(btf, fld.type_id)
    bit_off = fld.bit_offset
    bit_sz = fld.bitfield_bits
    if not bit_sz and isinstance(ftyp, t.Int) and ftyp.bits != 8 * ftyp.size:
        # Old-style bitfield: size and offset in the INT itself.
        bit_sz, bit_off = ftyp.bits, bit_off + ftyp.offset_bits
    if kind == FIELD_EXISTS:
        return 1, 0
    byte_sz = btf.size_of(fld.type_id)
    if not bit_sz:
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    elif byte_sz <= 0:
        raise RelocationError(f"bitfield of {bit_sz} bits in a type of size {byte_sz}")
    else:
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise RelocationError(f"bitfield at bit {bit_off} of {bit_sz} bits spans > 8 bytes")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    if kind == FIELD_BYTE_OFFSET:
        return byte_off, byte_sz
    if kind == FIELD_BYTE_SIZE:
        return byte_sz, byte_sz
    if kind == FIELD_SIGNED:
        signed = (isinstance(ftyp, t.Enum | t.Enum64) and ftyp.signed) or (
            isinstance(ftyp, t.Int) and bool(ftyp.encoding & 1))
        return int(signed), byte_sz
    if kind == FIELD_LSHIFT_U64:
        if byte_order == "<":
            return 64 - (bit_off + bit_sz - byte_off * 8), byte_sz
        return 64 - byte_sz * 8 + (bit_off - byte_off * 8), byte_sz
    return 64 - bit_sz, byte_sz  # FIELD_RSHIFT_U64


def _types_match(lbtf: Spec, lid: int, tbtf: Spec, tid: int, depth: int = 0) -> bool:
    """A shallow version of libbpf's bpf_core_types_match."""
    _, lt = skip_mods(lbtf, lid)
    _, tt = skip_mods(tbtf, tid)
    if depth > 8:
        return True
    if _kind_group(lt) != _kind_group(tt):
        return False
    if isinstance(lt, t.Struct | t.Union) and isinstance(tt, t.Struct | t.Union):
        tm = {m.name: m for m in tt.members}
        if len(lt.members) != len(tt.members):
            return False
        return all(m.name in tm and _types_match(lbtf, m.type, tbtf, tm[m.name].type, depth + 1)
                   for m in lt.members)
    if isinstance(lt, t.Enum | t.Enum64) and isinstance(tt, t.Enum | t.Enum64):
        names = {v.name for v in tt.values}
        return all(essential_name(v.name) in names or v.name in names for v in lt.values)
    if isinstance(lt, t.Int) and isinstance(tt, t.Int):
        return lt.size == tt.size and (lt.encoding & 1) == (tt.encoding & 1)
    if isinstance(lt, t.Pointer) and isinstance(tt, t.Pointer):
        return _types_match(lbtf, lt.type, tbtf, tt.type, depth + 1)
    if isinstance(lt, t.Array) and isinstance(tt, t.Array):
        return lt.nelems == tt.nelems and _types_match(lbtf, lt.type, tbtf, tt.type, depth + 1)
    if isinstance(lt, t.Fwd | t.Struct | t.Union | t.Enum | t.Enum64):
        return essential_name(lt.name) == getattr(tt, "name", "")
    return True


class Relocator:
    """Computes CO-RE relocations of one object's BTF against a target BTF."""

    def __init__(self, local: Spec, target: Spec, byte_order: str = "<") -> None:
        self.local = local
        self.target = target
        self.byte_order = byte_order
        self._cands: dict[int, list[int]] = {}

    def candidates(self, local_id: int) -> list[int]:
        found = self._cands.get(local_id)
        if found is None:
            lt = self.local.type_by_id(local_id)
            name = essential_name(getattr(lt, "name", ""))
            found = []
            if name:
                group = _kind_group(lt)
                for tid in self.target.types_by_name(name):
                    if _kind_group(self.target.type_by_id(tid)) == group:
                        found.append(tid)
            self._cands[local_id] = found
        return found

    def compute(self, rec: CoreRelo) -> Result:
        kind = rec.kind
        where = (f"CO-RE relocation {KIND_NAMES.get(kind, kind)} at insn_off {rec.insn_off} "
                 f"on type id {rec.type_id} access {rec.access_str!r}")
        if _ACCESS_RE.fullmatch(rec.access_str) is None:
            raise RelocationError(f"{where}: malformed access string")
        access = [int(x) for x in rec.access_str.split(":")]
        if max(access) > _ACCESS_MAX:
            raise RelocationError(f"{where}: access index {max(access)} out of range")
        try:
            return self._compute(rec, kind, access, where)
        except BTFError as exc:
            raise RelocationError(f"{where}: {exc}") from None

    def _compute(self, rec: CoreRelo, kind: int, access: list[int], where: str) -> Result:
        lbtf, tbtf = self.local, self.target
        if kind == TYPE_ID_LOCAL:
            return Result(rec.type_id, rec.type_id)
        if kind in _FIELD_KINDS:
            try:
                lfield, path = _local_path(lbtf, rec.type_id, access)
                orig, orig_sz = _field_value(lbtf, lfield, kind, self.byte_order)
                values = set()
                new_sz = 0
                for cand in self.candidates(rec.type_id):
                    tf = _target_path(lbtf, rec.type_id, access, path, tbtf, cand)
                    if tf is not None:
                        v, new_sz = _field_value(tbtf, tf, kind, self.byte_order)
                        values.add(v)
            except RelocationError as exc:
                raise RelocationError(f"{where}: {exc}") from None
            res = self._pick(where, kind, orig, values, orig_sz, new_sz)
            if is_bitfield(lbtf, lfield):
                res = replace(res, validate=False)
            return res
        if kind in _TYPE_KINDS:
            if access != [0]:
                raise RelocationError(f"{where}: type relocation with access other than '0'")
            orig = {TYPE_ID_TARGET: rec.type_id, TYPE_EXISTS: 1, TYPE_MATCHES: 1}.get(
                kind, 0) or lbtf.size_of(rec.type_id)
            values = set()
            for cand in self.candidates(rec.type_id):
                if kind == TYPE_MATCHES and not _types_match(lbtf, rec.type_id, tbtf, cand):
                    continue
                values.add({TYPE_ID_TARGET: cand, TYPE_EXISTS: 1, TYPE_MATCHES: 1}.get(
                    kind, 0) or tbtf.size_of(cand))
            if kind == TYPE_ID_TARGET and len(values) > 1:
                values = {min(values)}  # duplicates of one type in vmlinux BTF
            return self._pick(where, kind, orig, values)
        if kind in _ENUM_KINDS:
            _, lt = skip_mods(lbtf, rec.type_id)
            if not isinstance(lt, t.Enum | t.Enum64) or len(access) != 1 or \
                    access[0] >= len(lt.values):
                raise RelocationError(f"{where}: not an enumerator of an enum")
            lval = lt.values[access[0]]
            orig = 1 if kind == ENUMVAL_EXISTS else lval.value
            values = set()
            for cand in self.candidates(rec.type_id):
                tt = tbtf.type_by_id(cand)
                for v in getattr(tt, "values", ()):
                    if essential_name(v.name) == essential_name(lval.name):
                        values.add(1 if kind == ENUMVAL_EXISTS else v.value)
            return self._pick(where, kind, orig, values)
        raise RelocationError(f"{where}: unknown relocation kind")

    @staticmethod
    def _pick(where: str, kind: int, orig: int, values: set[int], orig_sz: int = 0,
              new_sz: int = 0) -> Result:
        if len(values) > 1:
            raise RelocationError(f"{where}: candidates disagree: {sorted(values)}")
        if values:
            return Result(orig, values.pop(), orig_size=orig_sz, new_size=new_sz)
        if kind in _EXISTENCE_KINDS:
            return Result(orig, 0)
        return Result(orig, 0, poison=True)


def poison(ins: Instruction) -> list[Instruction]:
    """libbpf's treatment of an unsatisfiable relocation: a call to a helper that
    does not exist, so that only a reachable use fails verification.  An
    ld_imm64 (two slots) becomes two such calls."""
    call = Instruction(op.CALL, imm=POISON_HELPER)
    return [call, Instruction(op.CALL, imm=POISON_HELPER)] if ins.is_ld_imm64 else [call]


def patch(ins: Instruction, res: Result, where: str) -> None:
    """Write ``res.new`` into the instruction the relocation points at."""
    cls = ins.cls
    if ins.is_ld_imm64:
        if res.validate and ins.imm != res.orig:
            raise RelocationError(f"{where}: ld_imm64 holds {ins.imm}, expected {res.orig}")
        ins.imm = res.new
    elif cls in (op.BPF_ALU, op.BPF_ALU64):
        if ins.opcode & 0x08:  # BPF_X: register source, nothing to patch
            raise RelocationError(f"{where}: ALU instruction with register source")
        if res.validate and ins.imm != res.orig:
            raise RelocationError(f"{where}: imm is {ins.imm}, expected {res.orig}")
        if not -(1 << 31) <= res.new < (1 << 32):
            raise RelocationError(f"{where}: value {res.new} does not fit an imm")
        ins.imm = res.new if res.new < (1 << 31) else res.new - (1 << 32)
    elif cls in (op.BPF_LDX, op.BPF_ST, op.BPF_STX):
        if res.validate and ins.off != res.orig:
            raise RelocationError(f"{where}: offset is {ins.off}, expected {res.orig}")
        if not -(1 << 15) <= res.new < (1 << 15):
            raise RelocationError(f"{where}: offset {res.new} does not fit 16 bits")
        ins.off = res.new
        if res.new_size and res.new_size != res.orig_size and ins.size_bytes == res.orig_size:
            sizes = {1: op.BPF_B, 2: op.BPF_H, 4: op.BPF_W, 8: op.BPF_DW}
            if res.new_size not in sizes:
                raise RelocationError(f"{where}: field size {res.new_size} cannot be loaded")
            ins.opcode = (ins.opcode & ~op.SIZE_MASK) | sizes[res.new_size]
    else:
        raise RelocationError(f"{where}: cannot patch opcode {ins.opcode:#04x}")
