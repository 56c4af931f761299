"""bpfconform: conformance."""
