"""Guanlian: linkage."""
