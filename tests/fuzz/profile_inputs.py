"""ConfigMap ``data`` for the profile fuzz tests: any keys, broken selectors, huge and odd values."""

from __future__ import annotations

import json

import yaml
from hypothesis import strategies as st

from eci_reference.constants import ECI_LABEL

from .profile_oracle import KNOWN_KEYS
from .strategies import (
    Nested,
    awkward_text,
    bad_values,
    cut_short,
    damaged,
    huge_text,
    json_values,
    nested_values,
    render_json,
)

VALID_SELECTORS = [
    {
        "name": "selector-demo1",
        "namespaceSelector": {"matchLabels": {"eci": "true"}},
        "objectSelector": {"matchLabels": {ECI_LABEL: "true"}},
        "effect": {"annotations": {"k8s.aliyun.com/eci-use-specs": "ecs.c6.xlarge"}, "labels": {"t": "a"}},
    },
    {"name": "global", "effect": {"labels": {"everywhere": "yes"}}},
]
VALID_SELECTORS_TEXT = json.dumps(VALID_SELECTORS, indent=2)
VALID_DATA = {
    "enableClusterIp": "true",
    "featureGates": "WaitForFirstConsumer=true",
    "vSwitchIds": "vsw-a,vsw-b",
    "securityGroupId": "sg-1",
    "vpcId": "vpc-1",
    "selectors": VALID_SELECTORS_TEXT,
}

#: Text a user might type into a value: near-booleans, ID lists with holes, feature gates, YAML.
plausible_text = st.sampled_from(
    ["true", "false", "TRUE", " True\n", "yes", "1", "", " ", "vsw-a,,vsw-b", "vsw-a, vsw-b", "a b",
     "WaitForFirstConsumer=true", "WaitForFirstConsumer", "Other=true", "WaitForFirstConsumer=true,"
     "WaitForFirstConsumer=false", "=true", "null", "[]", "{}", "NaN", "- name: a\n  effect: {}\n"]
)  # fmt: skip
selectors_text = st.one_of(
    damaged(VALID_SELECTORS).map(lambda damage: render_json(damage.document)),
    cut_short(VALID_SELECTORS_TEXT.encode()).map(bytes.decode),
    st.just(yaml.safe_dump(VALID_SELECTORS)),  # YAML where JSON is expected
    json_values.map(render_json),
    nested_values.map(Nested.text),
    st.builds(json.dumps, st.lists(st.just(VALID_SELECTORS[1]), min_size=101, max_size=102)),
    st.builds(lambda text: json.dumps([{"name": "big", "effect": {"annotations": {"a": text}}}]), huge_text),
)
string_values = st.one_of(plausible_text, awkward_text, huge_text, selectors_text)
any_keys = (
    st.sampled_from(KNOWN_KEYS)
    | awkward_text
    | st.sampled_from(["enableClusterIP", "selector", "vswitchIds"])
)
data_maps = st.one_of(
    st.dictionaries(any_keys, string_values, max_size=6),
    st.dictionaries(any_keys | st.integers() | st.none(), string_values | bad_values, max_size=4),
    st.builds(lambda text: {**VALID_DATA, "selectors": text}, selectors_text),
    damaged(VALID_DATA, string_values | bad_values).map(lambda damage: damage.document),
)
#: ConfigMap ``data`` that is not even a map (a broken API server, a test double).
any_data = data_maps | bad_values
