"""Standardisers: names, identifiers, phones, addresses, dates.

Pure functions; the `*_many` / `standardise_*` forms compute each distinct value once.
"""
