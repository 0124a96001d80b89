"""The Neo4j wing: readers (conn, cypher, store, walks, catalogue) and writers (rows, hash,
diff, loader, cli) side by side."""

DEFAULT_BATCH_SIZE = 10_000  # rows per write transaction of a load (light: the CLI reads it)
