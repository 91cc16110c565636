"""The ``eci-profile`` ConfigMap format, declared as pydantic models: which keys, which values.

The one place that says what a profile may hold. ``profile_problems`` words the errors for a user,
and ``profile.parse_profile`` builds the frozen ``Profile`` from a valid ``ProfileDocument``.

Format decisions (the seed document leaves them open):

- Booleans are ``"true"`` or ``"false"``, case-insensitive (``"True"`` is accepted, as Go's
  ``strconv.ParseBool`` would), surrounding whitespace ignored; ``"yes"``, ``"1"``, ``"on"`` are not.
- Missing keys take the seed document's defaults: ``enableClusterIp`` true, every other ``enable*``
  false, ``featureGates`` ``WaitForFirstConsumer=false``; ``vSwitchIds``, ``securityGroupId``,
  ``vpcId``, ``slsMachineGroup`` and ``selectors`` empty (an empty parameter is not injected).
- String parameters are stored with surrounding whitespace removed (a YAML block scalar adds a
  trailing newline no one means); otherwise verbatim. ``vSwitchIds`` and ``securityGroupId`` are
  comma-separated IDs (no empty item, no whitespace inside an ID); ``vpcId`` is a single ID.
- ``selectors``: at most ``MAX_SELECTORS`` entries and ``MAX_SELECTORS_BYTES`` of UTF-8; selector
  names must be DNS-1123 labels because each becomes a ``vk-webhook`` entry name; a selector's
  ``matchLabels`` must name at least one label (an empty Kubernetes selector matches *everything*,
  which would route every pod of the cluster); ``null`` means "not set"; duplicated JSON keys are
  rejected because JSON would silently keep only the last one.

Every model is strict (no coercion: ``1`` is not ``"1"``); the ``selectors`` JSON document is
declared in ``eci_reference.selectors_schema``; how a rule reports several problems at once, in the
order of the document, is ``eci_reference.validation``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from eci_reference.constants import FEATURE_GATE_WAIT_FOR_FIRST_CONSUMER
from eci_reference.selectors_schema import SelectorDocument, parse_selectors
from eci_reference.validation import (
    PROBLEM,
    json_type,
    problem,
    raise_all,
    show,
    validate_collecting,
)

_WHITESPACE: Final = re.compile(r"\s")


def parse_bool(text: str) -> bool | None:
    """``"true"``/``"false"`` in any letter case, surrounding whitespace ignored; ``None`` otherwise."""
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


# --- the ConfigMap data --------------------------------------------------------------------------------


def _boolean(value: str) -> bool:
    parsed = parse_bool(value)
    if parsed is None:
        raise PydanticCustomError(
            PROBLEM, "{text}", {"text": f'must be "true" or "false", got {show(value)}'}
        )
    return parsed


def _feature_gates(text: str) -> bool:
    """``Gate=bool`` pairs separated by commas; only WaitForFirstConsumer exists. Returns its value."""
    gate = FEATURE_GATE_WAIT_FOR_FIRST_CONSUMER
    if not text.strip():
        return False
    errors: list[InitErrorDetails] = []
    enabled: bool | None = None
    for raw_entry in text.split(","):
        entry = raw_entry.strip()
        name, equals, raw_value = entry.partition("=")
        name = name.strip()
        if not equals or not name:
            errors.append(problem(f"entry {show(entry)} is not Gate=true|false"))
            continue
        if name != gate:
            errors.append(problem(f"unknown gate {show(name)} (only {gate} is supported)"))
            continue
        value = parse_bool(raw_value)
        if value is None:
            errors.append(problem(f'{gate} must be "true" or "false", got {show(raw_value.strip())}'))
        elif enabled is not None:
            errors.append(problem(f"{gate} is set more than once"))
        else:
            enabled = value
    raise_all(errors)
    return bool(enabled)


def _single_id(text: str) -> str:
    value = text.strip()
    if _WHITESPACE.search(value) or "," in value:
        raise PydanticCustomError(
            PROBLEM, "{text}", {"text": f"must be a single ID without spaces or commas, got {show(value)}"}
        )
    return value


def _id_list(text: str) -> str:
    value = text.strip()
    errors: list[InitErrorDetails] = []
    for position, item in enumerate(value.split(",") if value else (), start=1):
        stripped = item.strip()
        if not stripped:
            errors.append(problem(f"item {position} of {show(value)} is empty"))
        elif _WHITESPACE.search(stripped):
            errors.append(problem(f"item {position} {show(stripped)} contains whitespace"))
    raise_all(errors)
    return value


Flag = Annotated[bool, PlainValidator(_boolean)]
IdList = Annotated[str, AfterValidator(_id_list)]
SingleId = Annotated[str, AfterValidator(_single_id)]
Text = Annotated[str, AfterValidator(str.strip)]


class ProfileDocument(BaseModel):
    """The ConfigMap's ``data``: a map of strings, each key one of the fields below (by its alias)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    enable_cluster_ip: Flag = Field(True, alias="enableClusterIp")
    enable_hybrid_mode: Flag = Field(False, alias="enableHybridMode")
    enable_linux_arm64_node: Flag = Field(False, alias="enableLinuxArm64Node")
    enable_log_controller: Flag = Field(False, alias="enableLogController")
    enable_pvc_controller: Flag = Field(False, alias="enablePVCController")
    enable_private_zone: Flag = Field(False, alias="enablePrivateZone")
    enable_reuse_ssl_key: Flag = Field(False, alias="enableReuseSSLKey")
    wait_for_first_consumer: Annotated[bool, PlainValidator(_feature_gates)] = Field(
        False, alias="featureGates"
    )
    vswitch_ids: IdList = Field("", alias="vSwitchIds")
    # Comma-separated like vSwitchIds: the eci-security-group annotation accepts several groups.
    security_group_id: IdList = Field("", alias="securityGroupId")
    vpc_id: SingleId = Field("", alias="vpcId")
    sls_machine_group: Text = Field("", alias="slsMachineGroup")
    selectors: Annotated[tuple[SelectorDocument, ...], PlainValidator(parse_selectors)] = ()

    @model_validator(mode="wrap")
    @classmethod
    def _strings_first(cls, value: object, handler: ValidatorFunctionWrapHandler) -> Any:
        """Keys and value types first (in the data's order), then each key's rule, then the cross-key rule."""
        if not isinstance(value, Mapping):
            return handler(value)
        known = tuple(field.alias or name for name, field in cls.model_fields.items())
        before: list[InitErrorDetails] = []
        strings: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                before.append(problem(f"data key {show(key)} is not a string"))
            elif key not in known:
                before.append(problem(unknown_key_problem(key, known)))
            elif not isinstance(item, str):
                before.append(problem(f"must be a string, got {json_type(item)}", (key,)))
            else:
                strings[key] = item

        def log_controller_needs_a_machine_group() -> list[InitErrorDetails]:
            enabled = parse_bool(strings.get("enableLogController", "")) is True
            if enabled and not strings.get("slsMachineGroup", "").strip():
                return [problem('enableLogController is "true" but slsMachineGroup is empty')]
            return []

        return validate_collecting(strings, handler, before, log_controller_needs_a_machine_group)


def unknown_key_problem(key: str, known: Iterable[str]) -> str:
    """The unknown key, with the known key it most likely means."""
    candidates = sorted(known)
    close = difflib.get_close_matches(key, candidates, n=1)
    if not close:
        lowered = {name.lower(): name for name in candidates}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {show(key)}{hint}"
