"""bpfconform: vm."""
