"""Guanlian: api."""
