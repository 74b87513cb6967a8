"""Simplified Chinese date formats."""
