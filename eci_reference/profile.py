"""Parse and validate the ``kube-system/eci-profile`` ConfigMap ``data`` into an immutable ``Profile``.

Why so strict: an invalid profile is never applied (the last valid one stays in force) and its
problems are posted as an ``InvalidProfile`` Event. A key or field that would silently do nothing
(a typo such as ``enableClusterIP``, an unsupported ``matchExpressions``, a duplicated JSON key) is
therefore reported as a problem instead of being ignored, and *all* problems are reported at once so
that a user fixes the ConfigMap in one edit.

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
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from eci_reference.constants import FEATURE_GATE_WAIT_FOR_FIRST_CONSUMER

MAX_SELECTORS: Final = 100
MAX_SELECTORS_BYTES: Final = 256 * 1024
#: More problems than this are summarised, so that an Event message stays readable.
MAX_REPORTED_PROBLEMS: Final = 50

_SHOWN_VALUE_CHARS: Final = 60


class FrozenMap(Mapping[str, str]):
    """A read-only, hashable ``str -> str`` map that keeps insertion order.

    ``types.MappingProxyType`` is read-only but not hashable; this one is both, so the frozen
    dataclasses holding it can be hashed and compared by value.
    """

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, str] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


EMPTY_MAP: Final = FrozenMap()


def _freeze(value: Mapping[str, str] | None) -> FrozenMap | None:
    if value is None or isinstance(value, FrozenMap):
        return value
    return FrozenMap(value)


@dataclass(frozen=True)
class Effect:
    """Annotations and labels injected into the ECI pods a selector matches (ECI Effect)."""

    annotations: Mapping[str, str] = EMPTY_MAP
    labels: Mapping[str, str] = EMPTY_MAP

    def __post_init__(self) -> None:
        object.__setattr__(self, "annotations", _freeze(self.annotations))
        object.__setattr__(self, "labels", _freeze(self.labels))

    @property
    def is_empty(self) -> bool:
        return not self.annotations and not self.labels


NO_EFFECT: Final = Effect()


@dataclass(frozen=True)
class Selector:
    """One entry of the profile's ``selectors``; the selectors hold ``matchLabels`` maps.

    ``None`` means the selector is not set; a set selector is never empty after parsing.
    """

    name: str
    namespace_selector: Mapping[str, str] | None = None
    object_selector: Mapping[str, str] | None = None
    effect: Effect = NO_EFFECT

    def __post_init__(self) -> None:
        object.__setattr__(self, "namespace_selector", _freeze(self.namespace_selector))
        object.__setattr__(self, "object_selector", _freeze(self.object_selector))

    @property
    def is_global_effect(self) -> bool:
        """Neither selector set: the effect applies to every ECI pod, and the selector routes nothing."""
        return self.namespace_selector is None and self.object_selector is None


@dataclass(frozen=True)
class Profile:
    """The validated profile. Build it with ``parse_profile``; ``data`` is the ConfigMap data it came from."""

    selectors: tuple[Selector, ...]
    vswitch_ids: str
    security_group_id: str
    vpc_id: str
    wait_for_first_consumer: bool
    enable_cluster_ip: bool
    enable_hybrid_mode: bool
    enable_linux_arm64_node: bool
    enable_log_controller: bool
    enable_pvc_controller: bool
    enable_private_zone: bool
    enable_reuse_ssl_key: bool
    sls_machine_group: str
    data: Mapping[str, str] = EMPTY_MAP
    #: Selectors with a namespaceSelector and/or objectSelector, in profile order (derived).
    routing_selectors: tuple[Selector, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "selectors", tuple(self.selectors))
        object.__setattr__(self, "data", _freeze(self.data))
        routing = tuple(selector for selector in self.selectors if not selector.is_global_effect)
        object.__setattr__(self, "routing_selectors", routing)

    @property
    def vswitch_id_list(self) -> tuple[str, ...]:
        """The vSwitch IDs one by one (for one virtual node per zone); empty when none are set."""
        return tuple(item.strip() for item in self.vswitch_ids.split(",")) if self.vswitch_ids else ()


class ProfileError(ValueError):
    """The profile is invalid; ``problems`` lists every problem found, each one human-readable."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("invalid eci-profile: " + "; ".join(self.problems))


# --- data keys -------------------------------------------------------------------------------------

_BOOLEAN_KEYS: Final = (
    "enableClusterIp",
    "enableHybridMode",
    "enableLinuxArm64Node",
    "enableLogController",
    "enablePVCController",
    "enablePrivateZone",
    "enableReuseSSLKey",
)
_BOOLEAN_DEFAULTS: Final = {key: key == "enableClusterIp" for key in _BOOLEAN_KEYS}
_ID_LIST_KEYS: Final = ("vSwitchIds", "securityGroupId")
_ID_KEYS: Final = ("vpcId",)
_KNOWN_KEYS: Final = frozenset(
    (*_BOOLEAN_KEYS, *_ID_LIST_KEYS, *_ID_KEYS, "featureGates", "selectors", "slsMachineGroup")
)

#: The seed document's data section, with the simulated cloud's vSwitches and placeholder IDs.
DEFAULT_PROFILE_DATA: Final[Mapping[str, str]] = FrozenMap(
    {
        "enableClusterIp": "true",
        "enableHybridMode": "false",
        "enableLinuxArm64Node": "false",
        "enableLogController": "false",
        "enablePVCController": "false",
        "enablePrivateZone": "false",
        "enableReuseSSLKey": "false",
        "featureGates": f"{FEATURE_GATE_WAIT_FOR_FIRST_CONSUMER}=false",
        "securityGroupId": "sg-reference-default",
        "selectors": "",
        "slsMachineGroup": "",
        "vSwitchIds": "vsw-hz-i,vsw-hz-j",
        "vpcId": "vpc-reference-default",
    }
)

# --- Kubernetes name syntax (apimachinery/pkg/util/validation) --------------------------------------

_DNS1123_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME_PART: Final = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE: Final = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_NAME_MAX: Final = 63
_SUBDOMAIN_MAX: Final = 253
_WHITESPACE: Final = re.compile(r"\s")

_DNS1123_RULE: Final = (
    "must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters) because it becomes a vk-webhook entry name"
)


def is_dns1123_label(text: str) -> bool:
    return len(text) <= _NAME_MAX and _DNS1123_LABEL.fullmatch(text) is not None


def is_qualified_name(text: str) -> bool:
    """A label or annotation key: an optional DNS-1123 subdomain prefix and '/', then a name part."""
    prefix, slash, name = text.rpartition("/")
    if slash and not (
        0 < len(prefix) <= _SUBDOMAIN_MAX and _DNS1123_SUBDOMAIN.fullmatch(prefix) and "/" not in prefix
    ):
        return False
    return 0 < len(name) <= _NAME_MAX and _QUALIFIED_NAME_PART.fullmatch(name) is not None


def is_label_value(text: str) -> bool:
    return len(text) <= _NAME_MAX and _LABEL_VALUE.fullmatch(text) is not None


def parse_bool(text: str) -> bool | None:
    """``"true"``/``"false"`` in any letter case, surrounding whitespace ignored; ``None`` otherwise."""
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def _show(value: object) -> str:
    """A bounded ``repr`` for error messages: user input must not flood an Event."""
    shown = repr(value)
    if len(shown) > _SHOWN_VALUE_CHARS:
        shown = shown[: _SHOWN_VALUE_CHARS - 3] + "..."
    return shown


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Problems:
    """Collects problems, summarising beyond ``MAX_REPORTED_PROBLEMS``."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, problem: str) -> None:
        if len(self.items) < MAX_REPORTED_PROBLEMS:
            self.items.append(problem)
        else:
            self.dropped += 1

    def raise_if_any(self) -> None:
        if self.items:
            tail = [f"... and {self.dropped} more problems"] if self.dropped else []
            raise ProfileError([*self.items, *tail])


# --- entry point ---------------------------------------------------------------------------------


def parse_profile(data: Mapping[str, str]) -> Profile:
    """Validate ConfigMap ``data`` and build the ``Profile``; raise ``ProfileError`` listing every problem."""
    problems = _Problems()
    untrusted: object = data  # typed as str -> str, but it comes from the API server or a test
    if not isinstance(untrusted, Mapping):
        raise ProfileError([f"data must be a map of strings, got {_json_type(untrusted)}"])
    values: dict[str, str] = {}
    key: object
    value: object
    for key, value in untrusted.items():
        if not isinstance(key, str):
            problems.add(f"data key {_show(key)} is not a string")
        elif key not in _KNOWN_KEYS:
            problems.add(_unknown_key_problem(key))
        elif not isinstance(value, str):
            problems.add(f"{key}: must be a string, got {_json_type(value)}")
        else:
            values[key] = value

    flags = {key: _parse_boolean_key(key, values, problems) for key in _BOOLEAN_KEYS}
    wait_for_first_consumer = _parse_feature_gates(values.get("featureGates"), problems)
    vswitch_ids = _parse_id_list("vSwitchIds", values.get("vSwitchIds", ""), problems)
    # Comma-separated like vSwitchIds: the eci-security-group annotation accepts several groups.
    security_group_id = _parse_id_list("securityGroupId", values.get("securityGroupId", ""), problems)
    vpc_id = _parse_id("vpcId", values.get("vpcId", ""), problems)
    sls_machine_group = values.get("slsMachineGroup", "").strip()
    selectors = _parse_selectors(values.get("selectors", ""), problems)

    if flags["enableLogController"] and not sls_machine_group:
        problems.add('enableLogController is "true" but slsMachineGroup is empty')

    problems.raise_if_any()
    return Profile(
        selectors=selectors,
        vswitch_ids=vswitch_ids,
        security_group_id=security_group_id,
        vpc_id=vpc_id,
        wait_for_first_consumer=wait_for_first_consumer,
        enable_cluster_ip=flags["enableClusterIp"],
        enable_hybrid_mode=flags["enableHybridMode"],
        enable_linux_arm64_node=flags["enableLinuxArm64Node"],
        enable_log_controller=flags["enableLogController"],
        enable_pvc_controller=flags["enablePVCController"],
        enable_private_zone=flags["enablePrivateZone"],
        enable_reuse_ssl_key=flags["enableReuseSSLKey"],
        sls_machine_group=sls_machine_group,
        data=FrozenMap(values),
    )


def _unknown_key_problem(key: str) -> str:
    problem = f"unknown key {_show(key)}"
    close = difflib.get_close_matches(key, sorted(_KNOWN_KEYS), n=1)
    if not close:
        lowered = {known.lower(): known for known in _KNOWN_KEYS}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    return f"{problem} (did you mean {close[0]!r}?)" if close else problem


def _parse_boolean_key(key: str, values: Mapping[str, str], problems: _Problems) -> bool:
    if key not in values:
        return _BOOLEAN_DEFAULTS[key]
    parsed = parse_bool(values[key])
    if parsed is None:
        problems.add(f'{key}: must be "true" or "false", got {_show(values[key])}')
        return _BOOLEAN_DEFAULTS[key]
    return parsed


def _parse_feature_gates(text: str | None, problems: _Problems) -> bool:
    """``Gate=bool`` pairs separated by commas; only WaitForFirstConsumer exists. Returns its value."""
    gate = FEATURE_GATE_WAIT_FOR_FIRST_CONSUMER
    if text is None or not text.strip():
        return False
    enabled: bool | None = None
    for raw_entry in text.split(","):
        entry = raw_entry.strip()
        name, equals, raw_value = entry.partition("=")
        name = name.strip()
        if not equals or not name:
            problems.add(f"featureGates: entry {_show(entry)} is not Gate=true|false")
            continue
        if name != gate:
            problems.add(f"featureGates: unknown gate {_show(name)} (only {gate} is supported)")
            continue
        value = parse_bool(raw_value)
        if value is None:
            problems.add(f'featureGates: {gate} must be "true" or "false", got {_show(raw_value.strip())}')
        elif enabled is not None:
            problems.add(f"featureGates: {gate} is set more than once")
        else:
            enabled = value
    return bool(enabled)


def _parse_id(key: str, text: str, problems: _Problems) -> str:
    value = text.strip()
    if _WHITESPACE.search(value) or "," in value:
        problems.add(f"{key}: must be a single ID without spaces or commas, got {_show(value)}")
    return value


def _parse_id_list(key: str, text: str, problems: _Problems) -> str:
    value = text.strip()
    if not value:
        return value
    for position, item in enumerate(value.split(","), start=1):
        stripped = item.strip()
        if not stripped:
            problems.add(f"{key}: item {position} of {_show(value)} is empty")
        elif _WHITESPACE.search(stripped):
            problems.add(f"{key}: item {position} {_show(stripped)} contains whitespace")
    return value


# --- selectors -----------------------------------------------------------------------------------

_SELECTOR_FIELDS: Final = ("name", "namespaceSelector", "objectSelector", "effect")
_EFFECT_FIELDS: Final = ("annotations", "labels")


class _JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers keys JSON would otherwise silently overwrite."""

    duplicate_keys: tuple[str, ...] = ()


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> _JsonObject:
    decoded = _JsonObject()
    duplicates: list[str] = []
    for key, value in pairs:
        if key in decoded:
            duplicates.append(key)
        decoded[key] = value
    if duplicates:
        decoded.duplicate_keys = tuple(duplicates)
    return decoded


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode_json(text: str) -> tuple[Any, str | None]:
    """The decoded document, or ``None`` and where and why decoding failed."""
    try:
        return json.loads(text, object_pairs_hook=_object_from_pairs, parse_constant=_reject_constant), None
    except json.JSONDecodeError as error:
        return None, f" at line {error.lineno} column {error.colno}: {error.msg}"
    except RecursionError:
        return None, ": nested too deeply"
    except ValueError as error:  # NaN/Infinity, or an integer too long to convert
        return None, f": {error}"


def _parse_selectors(text: str, problems: _Problems) -> tuple[Selector, ...]:
    if not text.strip():
        return ()
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SELECTORS_BYTES:
        problems.add(f"selectors: {size} bytes exceed the limit of {MAX_SELECTORS_BYTES} bytes")
        return ()
    document, problem = _decode_json(text)
    if problem is not None:
        problems.add(f"selectors: not valid JSON{problem}")
        return ()
    if not isinstance(document, list):
        problems.add(f"selectors: must be a JSON array of selector objects, got {_json_type(document)}")
        return ()
    if len(document) > MAX_SELECTORS:
        problems.add(f"selectors: {len(document)} selectors exceed the limit of {MAX_SELECTORS}")
        return ()

    selectors: list[Selector] = []
    first_index_of_name: dict[str, int] = {}
    for index, item in enumerate(document):
        selector = _parse_selector(index, item, first_index_of_name, problems)
        if selector is not None:
            selectors.append(selector)
    return tuple(selectors)


def _selector_where(index: int, name: object) -> str:
    if isinstance(name, str) and name and name.isprintable() and len(name) <= _NAME_MAX:
        return f"selectors[{index}] ({name})"
    return f"selectors[{index}]"


def _parse_selector(
    index: int, item: object, first_index_of_name: dict[str, int], problems: _Problems
) -> Selector | None:
    if not isinstance(item, dict):
        problems.add(f"selectors[{index}]: must be a JSON object, got {_json_type(item)}")
        return None
    name = item.get("name")
    where = _selector_where(index, name)
    count_before = len(problems.items) + problems.dropped
    _check_object_keys(where, item, _SELECTOR_FIELDS, problems)

    if name is None:
        problems.add(f"{where}: name is required")
    elif not isinstance(name, str):
        problems.add(f"{where}: name must be a string, got {_json_type(name)}")
    elif not name:
        problems.add(f"{where}: name must not be empty")
    else:
        if not is_dns1123_label(name):
            problems.add(f"{where}: name {_show(name)} {_DNS1123_RULE}")
        if name in first_index_of_name:
            problems.add(f"{where}: name duplicates selectors[{first_index_of_name[name]}]")
        else:
            first_index_of_name[name] = index

    namespace_selector = _parse_label_selector(
        f"{where}: namespaceSelector", item.get("namespaceSelector"), problems
    )
    object_selector = _parse_label_selector(f"{where}: objectSelector", item.get("objectSelector"), problems)
    effect = _parse_effect(f"{where}: effect", item.get("effect"), problems)

    unset = item.get("namespaceSelector") is None and item.get("objectSelector") is None
    if unset and (effect is None or effect.is_empty):
        problems.add(
            f"{where}: needs a namespaceSelector or an objectSelector "
            "(or, for a global effect, an effect with at least one annotation or label)"
        )
    if len(problems.items) + problems.dropped > count_before or not isinstance(name, str):
        return None
    return Selector(
        name=name,
        namespace_selector=namespace_selector,
        object_selector=object_selector,
        effect=effect or NO_EFFECT,
    )


def _check_object_keys(where: str, obj: dict[str, Any], allowed: Sequence[str], problems: _Problems) -> None:
    for duplicate in getattr(obj, "duplicate_keys", ()):
        problems.add(f"{where}: key {_show(duplicate)} appears more than once")
    for key in obj:
        if key not in allowed:
            problems.add(f"{where}: unknown field {_show(key)} (allowed: {', '.join(allowed)})")


def _parse_label_selector(where: str, value: object, problems: _Problems) -> FrozenMap | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(f"{where} must be a JSON object with matchLabels, got {_json_type(value)}")
        return None
    for duplicate in getattr(value, "duplicate_keys", ()):
        problems.add(f"{where}: key {_show(duplicate)} appears more than once")
    for key in value:
        if key == "matchExpressions":
            problems.add(
                f"{where}.matchExpressions is not supported "
                "(the eci-profile format documents only matchLabels)"
            )
        elif key != "matchLabels":
            problems.add(f"{where}: unknown field {_show(key)} (only matchLabels is supported)")
    match_labels = value.get("matchLabels")
    if match_labels is None and value:
        return None  # its only fields are unsupported ones, already reported
    if match_labels is None or match_labels == {}:
        problems.add(
            f"{where}.matchLabels must name at least one label (an empty selector would match every "
            "pod); leave the selector out instead"
        )
        return None
    return _parse_string_map(f"{where}.matchLabels", match_labels, problems, as_labels=True)


def _parse_effect(where: str, value: object, problems: _Problems) -> Effect | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(f"{where} must be a JSON object, got {_json_type(value)}")
        return None
    _check_object_keys(where, value, _EFFECT_FIELDS, problems)
    annotations = _parse_string_map(
        f"{where}.annotations", value.get("annotations"), problems, as_labels=False
    )
    labels = _parse_string_map(f"{where}.labels", value.get("labels"), problems, as_labels=True)
    return Effect(annotations=annotations or EMPTY_MAP, labels=labels or EMPTY_MAP)


def _parse_string_map(where: str, value: object, problems: _Problems, *, as_labels: bool) -> FrozenMap | None:
    """A JSON object of label (or annotation) keys to string values; ``None`` when unset or invalid."""
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(f"{where} must be a JSON object of strings, got {_json_type(value)}")
        return None
    for duplicate in getattr(value, "duplicate_keys", ()):
        problems.add(f"{where}: key {_show(duplicate)} appears more than once")
    kind = "label" if as_labels else "annotation"
    valid = True
    for key, item in value.items():
        # Kubernetes validates annotation keys case-insensitively (it lower-cases them first).
        if not is_qualified_name(key if as_labels else key.lower()):
            problems.add(
                f"{where}: {_show(key)} is not a valid {kind} key (an optional DNS subdomain prefix and "
                "'/', then at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)"
            )
            valid = False
        if not isinstance(item, str):
            problems.add(f"{where}: value of {_show(key)} must be a string, got {_json_type(item)}")
            valid = False
        elif as_labels and not is_label_value(item):
            problems.add(
                f"{where}: value {_show(item)} of {_show(key)} is not a valid label value (at most 63 "
                "letters, digits, '-', '_' or '.', starting and ending alphanumeric)"
            )
            valid = False
        elif not as_labels and not _is_encodable(item):
            problems.add(f"{where}: value of {_show(key)} is not valid Unicode text")
            valid = False
    return FrozenMap(value) if valid else None


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
