"""The embedded wing: the in-memory store (store), its networkx graph (network) and catalogue."""
