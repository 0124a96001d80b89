"""The pipeline from agency files to a served graph: link -> score -> prepare graph rows ->
publish to a store (`pipeline.run`), and the CLI commands that run its steps
(`pipeline.commands`). Top layer below `api/`: it imports linkage, graph and risk.
"""
