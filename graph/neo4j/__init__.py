"""The Neo4j wing: readers (conn, cypher, store, walks, catalogue) and writers (rows, hash,
diff, loader, cli) side by side."""
