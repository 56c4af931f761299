"""Hypothesis strategies for synthetic BTF and ELF blobs (facade in progress)."""
