"""The ``kube-system/eci-profile`` ConfigMap ``data`` as an immutable ``Profile``: ``parse_profile``.

Why so strict: an invalid profile is never applied (the last valid one stays in force) and its
problems are posted as an ``InvalidProfile`` Event. A key or field that would silently do nothing
(a typo such as ``enableClusterIP``, an unsupported ``matchExpressions``, a duplicated JSON key) is
therefore reported as a problem instead of being ignored, and *all* problems are reported at once so
that a user fixes the ConfigMap in one edit.

The format is declared once, as pydantic models, in ``eci_reference.profile_schema`` (which also
says the format decisions the seed document leaves open); ``eci_reference.profile_problems`` words
pydantic's errors as the problems a user reads. This module holds what the rest of the reference
uses: the value types, frozen and hashable, so a handler keeps the object it was given for a whole
request while the controller swaps in a new one, and "did anything change?" is a plain ``==``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

from eci_reference.constants import (
    FEATURE_GATE_WAIT_FOR_FIRST_CONSUMER,
    MAX_REPORTED_PROBLEMS,
    MAX_SELECTORS,
    MAX_SELECTORS_BYTES,
)
from eci_reference.profile_problems import describe_problems
from eci_reference.profile_schema import ProfileDocument
from eci_reference.selectors_schema import SelectorDocument

__all__ = [
    "DEFAULT_PROFILE_DATA",
    "EMPTY_MAP",
    "MAX_REPORTED_PROBLEMS",
    "MAX_SELECTORS",
    "MAX_SELECTORS_BYTES",
    "NO_EFFECT",
    "Effect",
    "FrozenMap",
    "Profile",
    "ProfileError",
    "Selector",
    "parse_profile",
]


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


def parse_profile(data: Mapping[str, str]) -> Profile:
    """Validate ConfigMap ``data`` and build the ``Profile``; raise ``ProfileError`` listing every problem."""
    untrusted: object = data  # typed as str -> str, but it comes from the API server or a test
    document_input = dict(untrusted) if isinstance(untrusted, Mapping) else untrusted
    context: dict[str, object] = {}
    try:
        document = ProfileDocument.model_validate(document_input, context=context)
    except ValidationError as error:
        raise ProfileError(describe_problems(error, context)) from None
    return Profile(
        selectors=tuple(_selector(item) for item in document.selectors),
        vswitch_ids=document.vswitch_ids,
        security_group_id=document.security_group_id,
        vpc_id=document.vpc_id,
        wait_for_first_consumer=document.wait_for_first_consumer,
        enable_cluster_ip=document.enable_cluster_ip,
        enable_hybrid_mode=document.enable_hybrid_mode,
        enable_linux_arm64_node=document.enable_linux_arm64_node,
        enable_log_controller=document.enable_log_controller,
        enable_pvc_controller=document.enable_pvc_controller,
        enable_private_zone=document.enable_private_zone,
        enable_reuse_ssl_key=document.enable_reuse_ssl_key,
        sls_machine_group=document.sls_machine_group,
        data=FrozenMap(data),
    )


def _selector(item: SelectorDocument) -> Selector:
    effect = item.effect
    return Selector(
        name=item.name,
        namespace_selector=item.namespace_selector.match_labels if item.namespace_selector else None,
        object_selector=item.object_selector.match_labels if item.object_selector else None,
        effect=Effect(annotations=effect.annotations or EMPTY_MAP, labels=effect.labels or EMPTY_MAP)
        if effect
        else NO_EFFECT,
    )
