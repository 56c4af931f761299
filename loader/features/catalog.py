"""Importing this module registers every probe."""

from __future__ import annotations

from loader.features import btf_probes, helper_probes, map_probes, misc_probes, prog_probes

__all__ = ["btf_probes", "helper_probes", "map_probes", "misc_probes", "prog_probes"]
