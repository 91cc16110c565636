"""The one pydantic base of the project's file formats (catalogue, implementation file, report):
camelCase in YAML/JSON, snake_case in Python, unknown fields rejected (a typo must not pass silently),
immutable once loaded."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

CAMEL_CASE_STRICT = ConfigDict(
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
    extra="forbid",
    frozen=True,
)


class CamelModel(BaseModel):
    model_config = CAMEL_CASE_STRICT
