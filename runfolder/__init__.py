"""The run folder: the one contract between `linkage/` (writer) and `graph/`, `risk/`,
`bench/` (readers). Bottom layer: imports nothing of this project.

- `runfolder.schema`: every table's columns and Arrow types (`TABLES`, `SCHEMAS`).
- `runfolder.ids`: deterministic IDs (entity, relation, event, address, phone, ring).
- `runfolder.folder`: read / write / check / validate a run folder.
"""
