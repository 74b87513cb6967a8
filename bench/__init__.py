"""The benchmark of issue 6: `python bench/run.py` (or `make bench`); see run.py."""
