"""The simulated cloud: the region, its vSwitches and zones, and the StorageClass's zone.

The reference implementation has no real cloud behind it, but three of its outputs depend on cloud
facts: the eci-profile it creates by default (``vSwitchIds``), the ``eci-disk`` StorageClass
(``regionId``/``zoneId``) and the region of a disk when a node does not say. Those facts live in one
small YAML file (``cloud.yaml``, packaged; another one is given with ``--cloud-config PATH``) so that
a test cluster with other zones needs a file, not a code change.

The file is validated strictly and every problem is reported at once, naming the file: a typo here
would otherwise surface much later as a PV in a zone no node has.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeGuard

import yaml

PACKAGED_CLOUD_CONFIG: Final = "cloud.yaml"

_TOP_LEVEL_KEYS: Final = ("region", "vSwitches", "storageClass")
_VSWITCH_KEYS: Final = ("id", "zone")
_STORAGE_CLASS_KEYS: Final = ("zoneId",)


class CloudConfigError(ValueError):
    """The cloud config cannot be read or is invalid; the message names the file and every problem."""


@dataclass(frozen=True)
class CloudConfig:
    """The simulated cloud's facts. ``vswitch_zones`` maps a vSwitch ID to its zone, in file order."""

    region: str
    vswitch_zones: Mapping[str, str]
    storage_class_zone: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "vswitch_zones", MappingProxyType(dict(self.vswitch_zones)))

    @property
    def vswitch_ids(self) -> tuple[str, ...]:
        return tuple(self.vswitch_zones)

    @property
    def zones(self) -> tuple[str, ...]:
        """Every zone that has a vSwitch, in file order, without repeats."""
        return tuple(dict.fromkeys(self.vswitch_zones.values()))

    def zone_of_vswitch(self, vswitch_id: str) -> str | None:
        return self.vswitch_zones.get(vswitch_id)


def load_cloud_config(path: Path | None = None) -> CloudConfig:
    """Read and validate ``path``, or the packaged ``cloud.yaml`` when ``path`` is ``None``."""
    if path is None:
        resource = importlib.resources.files("eci_reference").joinpath(PACKAGED_CLOUD_CONFIG)
        source = f"the packaged {PACKAGED_CLOUD_CONFIG}"
        try:
            text = resource.read_text(encoding="utf-8")
        except OSError as error:  # a broken installation, not a user error
            raise CloudConfigError(f"cloud config {source} cannot be read: {error}") from error
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CloudConfigError(
                f"cloud config {source} cannot be read: {error.strerror or error}"
            ) from error
        except UnicodeDecodeError as error:
            raise CloudConfigError(f"cloud config {source} is not UTF-8 text: {error}") from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CloudConfigError(f"cloud config {source} is not valid YAML: {error}") from error
    return parse_cloud_config(document, source=source)


def parse_cloud_config(document: object, *, source: str = "cloud config") -> CloudConfig:
    """Validate a decoded cloud config document; ``source`` names it in the error message."""
    problems: list[str] = []
    if not isinstance(document, dict):
        raise CloudConfigError(f"cloud config {source}: must be a mapping with {', '.join(_TOP_LEVEL_KEYS)}")
    _unknown_keys("", document, _TOP_LEVEL_KEYS, problems)

    region = document.get("region")
    if not _is_name(region):
        problems.append(f"region: must be a non-empty name without spaces, got {region!r}")
        region = ""

    vswitch_zones = _parse_vswitches(document.get("vSwitches"), str(region), problems)

    storage_class = document.get("storageClass")
    zone: Any = None
    if not isinstance(storage_class, dict):
        problems.append("storageClass: must be a mapping with zoneId")
    else:
        _unknown_keys("storageClass.", storage_class, _STORAGE_CLASS_KEYS, problems)
        zone = storage_class.get("zoneId")
        if not _is_name(zone):
            problems.append(f"storageClass.zoneId: must be a non-empty name without spaces, got {zone!r}")
        elif vswitch_zones and zone not in vswitch_zones.values():
            # A disk can only be used by a pod in its zone, and pods only run where a vSwitch is.
            problems.append(
                f"storageClass.zoneId: {zone!r} is not the zone of any vSwitch "
                f"({', '.join(sorted(set(vswitch_zones.values())))})"
            )

    if problems:
        raise CloudConfigError(f"cloud config {source} is invalid: " + "; ".join(problems))
    return CloudConfig(region=str(region), vswitch_zones=vswitch_zones, storage_class_zone=str(zone))


def _parse_vswitches(value: object, region: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, list) or not value:
        problems.append("vSwitches: must be a non-empty list of {id, zone}")
        return {}
    zones: dict[str, str] = {}
    for index, item in enumerate(value):
        where = f"vSwitches[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a mapping with id and zone")
            continue
        _unknown_keys(f"{where}.", item, _VSWITCH_KEYS, problems)
        vswitch_id, zone = item.get("id"), item.get("zone")
        if not _is_name(vswitch_id):
            problems.append(f"{where}.id: must be a non-empty name without spaces, got {vswitch_id!r}")
            continue
        if not _is_name(zone):
            problems.append(f"{where}.zone: must be a non-empty name without spaces, got {zone!r}")
            continue
        if region and not zone.startswith(f"{region}-"):
            problems.append(
                f"{where}.zone: {zone!r} is not a zone of region {region!r} (expected {region}-…)"
            )
        if vswitch_id in zones:
            problems.append(f"{where}.id: {vswitch_id!r} appears more than once")
            continue
        zones[vswitch_id] = zone
    return zones


def _is_name(value: object) -> TypeGuard[str]:
    return (
        isinstance(value, str) and bool(value) and not any(ch.isspace() for ch in value) and "," not in value
    )


def _unknown_keys(
    prefix: str, mapping: dict[Any, Any], allowed: tuple[str, ...], problems: list[str]
) -> None:
    for key in mapping:
        if key not in allowed:
            problems.append(f"{prefix}{key}: unknown key (allowed: {', '.join(allowed)})")
