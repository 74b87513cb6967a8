"""Date formats per language."""
