"""Errors raised while loading a mapping or reading agency files.

Every message names the file and, where known, the mapping key path, row number and field,
so that a data engineer can fix the input without reading a traceback.
"""

from __future__ import annotations

from pathlib import Path


class LinkageError(Exception):
    """Base class of every error raised by `linkage/`."""


class MappingError(LinkageError):
    """`sources.yaml` is malformed, inconsistent, or does not fit the files it describes."""

    def __init__(self, file: Path | str, key: str, message: str) -> None:
        self.file = str(file)
        self.key = key
        self.detail = message
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {message}")


class MissingColumn(MappingError):
    """A mapping key refers to a column that the source file does not have."""

    def __init__(self, mapping_file: Path | str, key: str, column: str, data_file: Path,
                 hint: str = "") -> None:
        self.column = column
        self.data_file = str(data_file)
        hint = f" ({hint})" if hint else ""
        super().__init__(
            mapping_file, key, f"column {column!r} is not in {self.data_file}{hint}"
        )


class SourceReadError(LinkageError):
    """A source file cannot be read at all (missing, unreadable, not the declared format)."""

    def __init__(self, file: Path | str, message: str, row: int | None = None) -> None:
        self.file = str(file)
        self.row = row
        self.detail = message
        where = self.file if row is None else f"{self.file}, row {row}"
        super().__init__(f"{where}: {message}")


class EncodingMismatch(SourceReadError):
    """The declared encoding does not fit the bytes of the file."""

    def __init__(self, file: Path | str, declared: str, suggested: str | None, why: str) -> None:
        self.declared = declared
        self.suggested = suggested
        hint = f"; it looks like {suggested}" if suggested else ""
        super().__init__(
            file, f"declared encoding {declared!r} does not fit the file ({why}){hint}"
        )
