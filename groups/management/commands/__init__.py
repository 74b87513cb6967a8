"""`manage.py` commands: run, sync, prune, unlock, simulate."""
