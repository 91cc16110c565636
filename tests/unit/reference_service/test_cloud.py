"""The simulated cloud's config file: the packaged one, a custom one, and every error."""

from typing import Any

import pytest
import yaml

from eci_reference.cloud import CloudConfig, CloudConfigError, load_cloud_config, parse_cloud_config
from eci_reference.constants import SIMULATED_REGION, SIMULATED_VSWITCH_ZONES

VALID: dict[str, Any] = {
    "region": "cn-beijing",
    "vSwitches": [{"id": "vsw-a", "zone": "cn-beijing-a"}, {"id": "vsw-b", "zone": "cn-beijing-b"}],
    "storageClass": {"zoneId": "cn-beijing-b"},
}


def problems(document) -> str:
    with pytest.raises(CloudConfigError) as caught:
        parse_cloud_config(document, source="test.yaml")
    return str(caught.value)


def test_packaged_config_is_the_architecture_documents_cloud():
    cloud = load_cloud_config()
    assert cloud.region == SIMULATED_REGION == "cn-hangzhou"
    assert dict(cloud.vswitch_zones) == dict(SIMULATED_VSWITCH_ZONES)
    assert cloud.vswitch_ids == ("vsw-hz-i", "vsw-hz-j")
    assert cloud.zones == ("cn-hangzhou-i", "cn-hangzhou-j")
    assert cloud.storage_class_zone == "cn-hangzhou-i"
    assert cloud.zone_of_vswitch("vsw-hz-j") == "cn-hangzhou-j"
    assert cloud.zone_of_vswitch("vsw-other") is None


def test_custom_file(tmp_path):
    path = tmp_path / "cloud.yaml"
    path.write_text(yaml.safe_dump(VALID))
    assert load_cloud_config(path) == CloudConfig(
        region="cn-beijing",
        vswitch_zones={"vsw-a": "cn-beijing-a", "vsw-b": "cn-beijing-b"},
        storage_class_zone="cn-beijing-b",
    )


def test_config_is_read_only():
    cloud = parse_cloud_config(VALID)
    with pytest.raises(TypeError):
        cloud.vswitch_zones["vsw-c"] = "cn-beijing-c"  # type: ignore[index]


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(CloudConfigError, match=r"cloud config .*nope\.yaml cannot be read"):
        load_cloud_config(tmp_path / "nope.yaml")


def test_invalid_yaml_names_the_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("region: [unclosed\n")
    with pytest.raises(CloudConfigError, match=r"bad\.yaml is not valid YAML"):
        load_cloud_config(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"region: \xe9\n")
    with pytest.raises(CloudConfigError, match="not UTF-8"):
        load_cloud_config(path)


@pytest.mark.parametrize("document", [None, [], "cn-hangzhou"])
def test_not_a_mapping(document):
    assert "must be a mapping" in problems(document)


def test_every_problem_is_reported_at_once():
    message = problems({"region": "", "vSwitches": [], "storageClass": {"zoneId": ""}, "zones": []})
    assert message.startswith("cloud config test.yaml is invalid: ")
    assert "zones: unknown key" in message
    assert "region: must be a non-empty name" in message
    assert "vSwitches: must be a non-empty list" in message
    assert "storageClass.zoneId: must be a non-empty name" in message


def test_zone_of_another_region():
    document = {**VALID, "vSwitches": [{"id": "vsw-a", "zone": "cn-hangzhou-i"}]}
    assert "'cn-hangzhou-i' is not a zone of region 'cn-beijing'" in problems(document)


def test_duplicate_vswitch():
    document = {**VALID, "vSwitches": [VALID["vSwitches"][0], VALID["vSwitches"][0]]}
    assert "vSwitches[1].id: 'vsw-a' appears more than once" in problems(document)


def test_storage_class_zone_must_have_a_vswitch():
    document = {**VALID, "storageClass": {"zoneId": "cn-beijing-z"}}
    assert "'cn-beijing-z' is not the zone of any vSwitch (cn-beijing-a, cn-beijing-b)" in problems(document)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("vsw-a", "vSwitches[0]: must be a mapping"),
        ({"id": "vsw a", "zone": "cn-beijing-a"}, "vSwitches[0].id: must be a non-empty name"),
        ({"id": "vsw-a"}, "vSwitches[0].zone: must be a non-empty name"),
        ({"id": "vsw-a", "zone": "cn-beijing-a", "cidr": "10/8"}, "vSwitches[0].cidr: unknown key"),
    ],
)
def test_bad_vswitch_entries(item, expected):
    assert expected in problems({**VALID, "vSwitches": [item]})


def test_storage_class_section():
    assert "storageClass: must be a mapping" in problems({**VALID, "storageClass": "cn-beijing-a"})
    assert "storageClass.regionId: unknown key" in problems(
        {**VALID, "storageClass": {"zoneId": "cn-beijing-a", "regionId": "x"}}
    )
