"""Guanlian: graph."""
