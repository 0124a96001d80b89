"""Chinese labels of the machine codes (`graph/labels.yaml`: data, not code).

Rule codes, relationship and event types, node kinds, agencies, linkage methods and
recommendations keep their codes in every answer; `labels()` gives the text shown beside them.
A code without a label is shown as itself.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

LABELS_PATH = Path(__file__).with_name("labels.yaml")


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: dict[str, str] = Field(default_factory=dict)
    relationships: dict[str, str] = Field(default_factory=dict)
    events: dict[str, str] = Field(default_factory=dict)
    kinds: dict[str, str] = Field(default_factory=dict)
    agencies: dict[str, str] = Field(default_factory=dict)
    methods: dict[str, str] = Field(default_factory=dict)
    identifiers: dict[str, str] = Field(default_factory=dict)
    low_confidence_below: float = Field(default=0.95, ge=0, le=1)
    recommendations: dict[str, str] = Field(default_factory=dict)
    features: dict[str, str] = Field(default_factory=dict)

    def rule(self, code: str) -> str:
        return self.rules.get(code, code)

    def relationship(self, code: str) -> str:
        return self.relationships.get(code, code)

    def event(self, code: str) -> str:
        return self.events.get(code, code)

    def kind(self, code: str) -> str:
        return self.kinds.get(code, code)

    def agency(self, source: str | None) -> str | None:
        return None if source is None else self.agencies.get(source, source)

    def method(self, code: str) -> str:
        return self.methods.get(code, code)

    def identifier(self, code: str) -> str:
        return self.identifiers.get(code, code)

    def recommendation(self, code: str) -> str:
        return self.recommendations.get(code, code)

    def feature(self, code: str) -> str:
        """A learned-score feature; a key holding `{type}` matches any relationship type."""
        if code in self.features:
            return self.features[code]
        for key, text in self.features.items():
            head, sep, tail = key.partition("{type}")
            if sep and code.startswith(head) and code.endswith(tail):
                rel = code[len(head):len(code) - len(tail)]
                if rel in self.relationships:
                    return text.replace("{type}", self.relationship(rel))
        return code


@lru_cache(maxsize=1)
def labels() -> Labels:
    """The packaged labels (ValueError naming the file when it cannot be read)."""
    try:
        data = yaml.safe_load(LABELS_PATH.read_text(encoding="utf-8")) or {}
        return Labels.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"bad labels file {LABELS_PATH}: {exc}") from exc
