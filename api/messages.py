"""Chinese messages of the problem answers (`api/messages.yaml`: data): per machine code, what
happened and what to do. `api.errors.problem` adds them as `message` and `action`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

MESSAGES_PATH = Path(__file__).with_name("messages.yaml")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str
    action: str


class Messages(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: Message
    codes: dict[str, Message] = Field(default_factory=dict)

    def of(self, code: str) -> Message:
        return self.codes.get(code, self.default)


@lru_cache(maxsize=1)
def messages() -> Messages:
    """The packaged messages (ValueError naming the file when it cannot be read)."""
    try:
        data = yaml.safe_load(MESSAGES_PATH.read_text(encoding="utf-8")) or {}
        return Messages.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"bad messages file {MESSAGES_PATH}: {exc}") from exc
