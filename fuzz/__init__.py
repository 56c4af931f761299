"""bpfconform: fuzz."""
