"""The audit log: export, search, size, immutability, pruning, wording."""
