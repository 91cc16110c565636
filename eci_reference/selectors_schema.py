"""The profile's ``selectors`` JSON document, declared as pydantic models (``SelectorDocument`` …).

Part of the eci-profile format (``eci_reference.profile_schema`` has the format decisions). Each
JSON object is a ``_JsonModel``: strict, immutable, and it reports its duplicated and unknown keys
first, then its fields in the order declared here, then rules about the object as a whole, so the
problems read in the order of the document.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, PydanticKnownError

from eci_reference.constants import MAX_SELECTORS, MAX_SELECTORS_BYTES
from eci_reference.kube_names import (
    DNS1123_LABEL_PATTERN,
    LABEL_KEY_RULE,
    LABEL_VALUE_RULE,
    NAME_MAX,
    is_label_value,
    is_qualified_name,
)
from eci_reference.validation import (
    ENTRY_VALUE,
    PROBLEM,
    SUBJECT,
    duplicate_key_problems,
    errors_of,
    json_type,
    object_from_pairs,
    problem,
    raise_all,
    show,
    validate_collecting,
)

# --- string maps: matchLabels, effect labels and annotations ------------------------------------------


def _label_key(key: str) -> str:
    if not is_qualified_name(key):
        raise PydanticCustomError(
            PROBLEM, "{text}", {"text": f"{show(key)} is not a valid label key {LABEL_KEY_RULE}"}
        )
    return key


def _annotation_key(key: str) -> str:
    # Kubernetes validates annotation keys case-insensitively (it lower-cases them first).
    if not is_qualified_name(key.lower()):
        raise PydanticCustomError(
            PROBLEM, "{text}", {"text": f"{show(key)} is not a valid annotation key {LABEL_KEY_RULE}"}
        )
    return key


def _label_value(value: str) -> str:
    if not is_label_value(value):
        raise PydanticCustomError(ENTRY_VALUE, "{rule}", {"shown": show(value), "rule": LABEL_VALUE_RULE})
    return value


def _annotation_value(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            ENTRY_VALUE, "{rule}", {"shown": "", "rule": "is not valid Unicode text"}
        ) from None
    return value


def _no_duplicate_keys(value: object, handler: ValidatorFunctionWrapHandler) -> Any:
    return validate_collecting(value, handler, duplicate_key_problems(value))


_LabelMapEntries = dict[
    Annotated[str, AfterValidator(_label_key)], Annotated[str, AfterValidator(_label_value)]
]
_AnnotationMapEntries = dict[
    Annotated[str, AfterValidator(_annotation_key)], Annotated[str, AfterValidator(_annotation_value)]
]
LabelMap = Annotated[_LabelMapEntries, WrapValidator(_no_duplicate_keys)]
AnnotationMap = Annotated[_AnnotationMapEntries, WrapValidator(_no_duplicate_keys)]
_LABEL_MAP: Final = TypeAdapter(_LabelMapEntries, config=ConfigDict(strict=True))
_ANNOTATION_MAP: Final = TypeAdapter(_AnnotationMapEntries, config=ConfigDict(strict=True))


def _is_non_empty(adapter: TypeAdapter[Any], value: object) -> bool:
    """``value`` is a valid map with at least one entry (duplicated keys aside)."""
    if not value:
        return False
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


# --- the selectors document ---------------------------------------------------------------------------


class _JsonModel(BaseModel):
    """A JSON object of the selectors document: strict, immutable, every key known and given once."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    @model_validator(mode="wrap")
    @classmethod
    def _keys_first(cls, value: object, handler: ValidatorFunctionWrapHandler) -> Any:
        before = duplicate_key_problems(value)
        if isinstance(value, dict):
            allowed = cls.field_names()
            before.extend(cls.unknown_key(key) for key in value if key not in allowed)
        return validate_collecting(value, handler, before, lambda: cls.whole_object_problems(value))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(field.alias or name for name, field in cls.model_fields.items())

    @classmethod
    def unknown_key(cls, key: str) -> InitErrorDetails:
        return problem(f"unknown field {show(key)} (allowed: {', '.join(cls.field_names())})")

    @classmethod
    def whole_object_problems(cls, value: object) -> list[InitErrorDetails]:
        return []


class LabelSelectorDocument(_JsonModel):
    """``namespaceSelector`` / ``objectSelector``: only ``matchLabels``, and never an empty one."""

    match_labels: LabelMap | None = Field(None, alias="matchLabels")

    @classmethod
    def unknown_key(cls, key: str) -> InitErrorDetails:
        if key == "matchExpressions":
            return problem(
                "is not supported (the eci-profile format documents only matchLabels)", (key,), kind=SUBJECT
            )
        return problem(f"unknown field {show(key)} (only matchLabels is supported)")

    @classmethod
    def whole_object_problems(cls, value: object) -> list[InitErrorDetails]:
        if not isinstance(value, dict):
            return []
        match_labels = value.get("matchLabels")
        # Without matchLabels but with other fields, those were reported already (as is an explicit null).
        if not (match_labels == {} or (match_labels is None and not value)):
            return []
        return [
            problem(
                "must name at least one label (an empty selector would match every pod); leave the "
                "selector out instead",
                ("matchLabels",),
                kind=SUBJECT,
            )
        ]


class EffectDocument(_JsonModel):
    """``effect``: the annotations and labels a selector injects."""

    annotations: AnnotationMap | None = None
    labels: LabelMap | None = None


def _null_is_missing(value: object) -> object:
    if value is None:
        raise PydanticKnownError("missing")
    return value


def _unique_name(value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    context = info.context or {}
    first = context.get("duplicate_of")
    after: list[InitErrorDetails] = []
    if first is not None and isinstance(value, str) and value:
        after.append(problem(f"duplicates selectors[{first}]", kind=SUBJECT))
    return validate_collecting(value, handler, [], lambda: after)


SelectorName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_MAX, pattern=DNS1123_LABEL_PATTERN),
    BeforeValidator(_null_is_missing),
    WrapValidator(_unique_name),
]


class SelectorDocument(_JsonModel):
    """One entry of ``selectors``: a name, what it routes, and what it injects."""

    name: SelectorName
    namespace_selector: LabelSelectorDocument | None = Field(None, alias="namespaceSelector")
    object_selector: LabelSelectorDocument | None = Field(None, alias="objectSelector")
    effect: EffectDocument | None = None

    @classmethod
    def whole_object_problems(cls, value: object) -> list[InitErrorDetails]:
        if not isinstance(value, dict):
            return []
        if value.get("namespaceSelector") is not None or value.get("objectSelector") is not None:
            return []
        effect = value.get("effect")
        if isinstance(effect, dict) and (
            _is_non_empty(_ANNOTATION_MAP, effect.get("annotations"))
            or _is_non_empty(_LABEL_MAP, effect.get("labels"))
        ):
            return []
        return [
            problem(
                "needs a namespaceSelector or an objectSelector "
                "(or, for a global effect, an effect with at least one annotation or label)"
            )
        ]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_selectors(text: str) -> object:
    """The ``selectors`` JSON document (within the size limit), objects as ``JsonObject``.

    A seam: the mutation matrix rewrites what this returns (tests/mutation/defects/selectors.py).
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SELECTORS_BYTES:
        raise PydanticCustomError(
            PROBLEM, "{text}", {"text": f"{size} bytes exceed the limit of {MAX_SELECTORS_BYTES} bytes"}
        )
    try:
        return json.loads(text, object_pairs_hook=object_from_pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        where = f" at line {error.lineno} column {error.colno}: {error.msg}"
    except RecursionError:
        where = ": nested too deeply"
    except ValueError as error:  # NaN/Infinity, or an integer too long to convert
        where = f": {error}"
    raise PydanticCustomError(PROBLEM, "{text}", {"text": f"not valid JSON{where}"})


def parse_selectors(value: object, info: ValidationInfo) -> tuple[SelectorDocument, ...]:
    """The ``selectors`` text: a JSON array of selector objects whose names are unique."""
    if not isinstance(value, str) or not value.strip():
        return ()
    document = decode_selectors(value)  # looked up at call time, so that the seam can be rebound
    if isinstance(info.context, dict):
        info.context["selectors"] = document
    if not isinstance(document, list):
        raise PydanticCustomError(
            PROBLEM,
            "{text}",
            {"text": f"must be a JSON array of selector objects, got {json_type(document)}"},
        )
    if len(document) > MAX_SELECTORS:
        raise PydanticCustomError(
            PROBLEM, "{text}", {"text": f"{len(document)} selectors exceed the limit of {MAX_SELECTORS}"}
        )
    selectors: list[SelectorDocument] = []
    errors: list[InitErrorDetails] = []
    first_index_of_name: dict[str, int] = {}
    for index, item in enumerate(document):
        name = item.get("name") if isinstance(item, dict) else None
        first = first_index_of_name.setdefault(name, index) if isinstance(name, str) and name else index
        context = {"duplicate_of": first} if first != index else {}
        try:
            selectors.append(SelectorDocument.model_validate(item, context=context))
        except ValidationError as error:
            errors.extend(errors_of(error, (index,)))
    raise_all(errors)
    return tuple(selectors)
