"""Implementation files for the loader's fuzz test: damaged valid files and YAML's sharp corners."""

from __future__ import annotations

import yaml
from hypothesis import strategies as st

from .strategies import broken_bytes, damaged, huge_texts, json_values, nested, render_yaml, to_bytes

VALID_IMPLEMENTATION = {
    "apiVersion": "conformance.vnode.dev/v1alpha1",
    "kind": "Implementation",
    "metadata": {
        "organization": "fuzz",
        "project": "fuzzed",
        "version": "0.1.0",
        "url": "https://example.invalid/fuzz",
        "contact": "fuzz@example.invalid",
    },
    "features": ["core-scheduling", "selectors-effects", "hot-updates"],
    "install": {
        "local": {
            "command": ["{python}", "-m", "eci_reference", "--listen", "127.0.0.1:{port}"],
            "readyUrl": "https://127.0.0.1:{port}/readyz",
            "env": {"A": "{workdir}"},
        },
        "kind": {
            "images": [{"name": "x:dev", "dockerfile": "Dockerfile", "context": "."}],
            "manifests": ["deploy/"],
            "helm": {"chart": "c", "release": "r", "namespace": "kube-system", "values": {"a": 1}},
        },
        "existing": {},
    },
    "observation": {
        "virtualNodeSelector": "type=virtual-kubelet,zone in (a, b),!gpu",
        "zoneLabel": "topology.kubernetes.io/zone",
        "implementationPods": {"namespace": "kube-system", "labelSelector": "app=x"},
        "profileRejectionEvent": {"reason": "InvalidProfile"},
    },
    "limits": {"profilePropagationSeconds": 30, "holdSeconds": 10},
}
VALID_TEXT = yaml.safe_dump(VALID_IMPLEMENTATION, sort_keys=False)

#: YAML that PyYAML parses in surprising ways, or refuses: each must end as a clear error or a load.
YAML_CORNERS = [
    "? [a, b]\n: x\n",  # a sequence as a mapping key
    "? {a: 1}\n: x\n",
    "metadata:\n  ? [url]\n  : x\n",
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "features: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",  # a billion laughs, in small
    "features: &f [*f]\n",  # an alias to itself
    "limits: &l {holdSeconds: 10}\nobservation: *l\n",
    "base: &b {organization: o}\nmetadata:\n  <<: *b\n  <<: *b\n",  # merge keys, twice
    "!!python/object/apply:os.system [true]\n",
    "metadata: !!binary aGVsbG8=\n",
    "limits: {holdSeconds: !!float .inf}\n",
    "limits: {holdSeconds: 1e309}\n",
    "limits: {holdSeconds: 99999999999999999999999999999999}\n",
    "features: !!set {core-scheduling}\n",
    "metadata: !custom {a: 1}\n",
    "%YAML 2.0\n---\na: 1\n",
    "a: 1\n---\nb: 2\n",
    "---\n...\n",
    "",
    "\ufeffapiVersion: x\n",
    "kind:\tImplementation\n",
    "\tkind: Implementation\n",
    "2026-01-01: date\n~: null\n1: int\ntrue: bool\n",
    "a: 1\na: 2\n",
    "metadata: {url: [" + "[" * 600 + "]" * 600 + "]}\n",
    "k: " + "[" * 600 + "]" * 600 + "\n",
    "k: " + "{a: " * 600 + "x" + "}" * 600 + "\n",
    "- " * 600 + "x\n",
    "k: '" + "x" * 20_000 + "'\n",
]
yaml_corners = st.sampled_from(YAML_CORNERS).map(to_bytes)
#: A corner spliced into a valid file, so that it is met after the fields the loader checks first.
spliced_corners = st.builds(
    lambda corner, key: to_bytes(VALID_TEXT.replace(f"\n{key}:", f"\n{key}_: 1\n{corner}\n{key}:", 1)),
    st.sampled_from([corner for corner in YAML_CORNERS if corner and not corner.startswith(("%", "-", "!"))]),
    st.sampled_from(["features", "install", "limits"]),
)
#: PyYAML is pure Python: 20 kB values already exceed every message bound, at a tenth of the cost;
#: and its scanner is quadratic in the nesting depth, while ~450 levels already exhaust the recursion
#: limit of its composer (the "nested too deeply" path), so deeper values only cost time.
YAML_DEPTH = 600
yaml_bad_values = json_values | nested(YAML_DEPTH) | huge_texts(20_000)
damaged_files = damaged(VALID_IMPLEMENTATION, yaml_bad_values)
any_file = st.one_of(
    damaged_files.map(lambda damage: to_bytes(render_yaml(damage.document))),
    broken_bytes(to_bytes(VALID_TEXT)),
    yaml_corners,
    spliced_corners,
)
