"""Oracles: external tools that say what the truth is (libbpf, bpftool, ...).

Each module wraps one real tool and returns plain data, so a test can compare
it with what :mod:`loader` produces without either side knowing the other.
"""
