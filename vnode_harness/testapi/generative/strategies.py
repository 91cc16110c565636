"""Hypothesis strategies for routing cases: a profile and the namespaces and pods that probe it.

A *scenario* is one profile plus a batch of namespaces and pods built to hit every branch of the model
(vnode_harness.testapi.generative.model): for each selector, pods and namespaces that match it exactly and
near-misses that differ in one label; colliding effect keys between selectors; pods that already carry
an effect's key; ECI labels with values other than `true`; global effects; parameter defaults. Keys
come from small vocabularies so that collisions are frequent rather than rare. A profile or pod in a
case the catalogue leaves open (vnode_harness.testapi.generative.unspecified) is never drawn: nobody certified
an outcome for it.

`draw_scenarios(seed, count)` is deterministic: the same seed and count give the same scenarios on any
machine (same Hypothesis version), which is what makes a vendor's failing case replayable anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from vnode_harness.testapi.generative.model import ECI_LABEL, ParameterKeys, ProfileSpec, SelectorSpec
from vnode_harness.testapi.generative.unspecified import DrawnPod, pod_falls_in, profile_falls_in

PREFIX = "gen.conformance.vnode.dev"
MATCH_KEYS = tuple(f"{PREFIX}/m{i}" for i in range(1, 4))
MATCH_VALUES = ("x", "y")
ALIYUN_EFFECT_ANNOTATION = "k8s.aliyun.com/eci-auto-imc"
"""One of the seed's own effect annotations (Example 3), so that effects under the vendor's domain are
exercised too, not only the generator's made-up keys."""
EFFECT_KEYS = (f"{PREFIX}/e1", f"{PREFIX}/e2", ALIYUN_EFFECT_ANNOTATION)
JUDGED_PREFIXES = (PREFIX + "/", ALIYUN_EFFECT_ANNOTATION)
"""The keys the comparison looks at besides the ECI label and the parameter annotations."""


def effect_value(key: str, index: int) -> str:
    """Which selector an injected value came from shows in the value itself; the seed's annotation
    keeps a value it documents ("true"), alternating with "false" so that neighbours still differ."""
    if key == ALIYUN_EFFECT_ANNOTATION:
        return "true" if index % 2 == 0 else "false"
    return f"s{index}"


ECI_VALUES_NOT_TRUE = ("false", "True", "TRUE", "1", "yes")
"""Values of alibabacloud.com/eci a lenient parser may take for true: none of them routes."""

DEFAULT_SEED = 20261202
DEFAULT_SCENARIOS = 20


@dataclass(frozen=True)
class PodCase:
    namespace: int
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scenario:
    profile: ProfileSpec
    namespaces: tuple[tuple[tuple[str, str], ...], ...]
    """Each namespace's labels (the index is what PodCase.namespace refers to)."""
    pods: tuple[PodCase, ...]


@cache  # built once: building strategies, not drawing from them, was most of a draw's time
def _labels(keys: tuple[str, ...], min_size: int, max_size: int) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(
        st.sampled_from(keys), st.sampled_from(MATCH_VALUES), min_size=min_size, max_size=max_size
    )


@cache
@st.composite
def _selector(draw: st.DrawFn, index: int) -> SelectorSpec:
    kind = draw(st.sampled_from(("object", "namespace", "both", "global")))
    namespace = draw(_labels(MATCH_KEYS, 1, 2)) if kind in ("namespace", "both") else None
    obj = draw(_labels(MATCH_KEYS, 1, 2)) if kind in ("object", "both") else None
    annotation_keys = draw(st.sets(st.sampled_from(EFFECT_KEYS), min_size=0, max_size=2))
    label_keys = draw(st.sets(st.sampled_from(EFFECT_KEYS), min_size=0, max_size=2))
    if kind == "global" and not (annotation_keys or label_keys):
        annotation_keys = {EFFECT_KEYS[index % len(EFFECT_KEYS)]}  # a global selector without effect is void
    return SelectorSpec(
        name=f"gen-{index}",
        namespace_labels=tuple(sorted(namespace.items())) if namespace is not None else None,
        object_labels=tuple(sorted(obj.items())) if obj is not None else None,
        effect_annotations=tuple((key, effect_value(key, index)) for key in sorted(annotation_keys)),
        effect_labels=tuple((key, effect_value(key, index)) for key in sorted(label_keys)),
    )


@cache
@st.composite
def _profile(draw: st.DrawFn, with_parameters: bool) -> ProfileSpec:
    count = draw(st.integers(min_value=1, max_value=4))
    selectors = tuple(draw(_selector(index)) for index in range(count))
    security_group = vswitches = None
    if with_parameters and draw(st.booleans()):
        security_group = draw(st.sampled_from(("sg-gen-1", "sg-gen-2")))
        vswitches = draw(st.sampled_from(("vsw-gen-a", "vsw-gen-a,vsw-gen-b")))
    return ProfileSpec(selectors, security_group_id=security_group, vswitch_ids=vswitches)


def _near_miss(draw: st.DrawFn, labels: dict[str, str]) -> dict[str, str]:
    """The same labels with one value changed or one label dropped."""
    key = draw(st.sampled_from(sorted(labels)))
    changed = dict(labels)
    if draw(st.booleans()):
        del changed[key]
    else:
        changed[key] = next(v for v in MATCH_VALUES if v != labels[key])
    return changed


def _eci_label(draw: st.DrawFn) -> dict[str, str]:
    choice = draw(st.sampled_from(("none", "none", "none", "true", "not-true")))
    if choice == "true":
        return {ECI_LABEL: "true"}
    if choice == "not-true":
        return {ECI_LABEL: draw(st.sampled_from(ECI_VALUES_NOT_TRUE))}
    return {}


@st.composite
def scenarios(draw: st.DrawFn, parameter_keys: ParameterKeys | None = None) -> Scenario:
    """One profile and the namespaces and pods that exercise it (see the module docstring)."""
    profile = draw(_profile(parameter_keys is not None))
    profile_data = profile.to_data()
    assume(not profile_falls_in(profile_data))  # an open case of the catalogue: never drawn
    wanted: list[dict[str, str]] = [{}]  # a plain namespace is always there
    for selector in profile.selectors:
        if selector.namespace_labels is not None:
            wanted.append(dict(selector.namespace_labels))
            wanted.append(_near_miss(draw, dict(selector.namespace_labels)))
    wanted.append({**draw(_labels(MATCH_KEYS, 0, 2)), **_eci_label(draw)})
    namespaces = list(dict.fromkeys(tuple(sorted(labels.items())) for labels in wanted))
    namespace_labels = [dict(labels) for labels in namespaces]

    def namespace_for(wanted: dict[str, str] | None) -> int:
        candidates = [i for i, labels in enumerate(namespace_labels) if wanted is None or labels == wanted]
        return draw(st.sampled_from(candidates or list(range(len(namespace_labels)))))

    pods: list[PodCase] = []

    def add_pod(namespace: int, labels: dict[str, str]) -> None:
        labels = {**labels, **_eci_label(draw)}
        annotations: dict[str, str] = {}
        if draw(st.integers(0, 3)) == 0:  # the pod already carries an effect's key
            key = draw(st.sampled_from(EFFECT_KEYS))
            (labels if draw(st.booleans()) else annotations)[key] = "pod-own"
        if parameter_keys is not None and draw(st.integers(0, 3)) == 0:
            annotations[parameter_keys.security_group] = "sg-pod-own"
        # Left out after its draws, so that the draws after it (and every seed that drew no such pod)
        # stay as they were.
        if pod_falls_in(DrawnPod(profile_data, namespace_labels[namespace], labels, annotations)):
            return  # an open case of the catalogue: never drawn
        pods.append(PodCase(namespace, tuple(sorted(labels.items())), tuple(sorted(annotations.items()))))

    for selector in profile.selectors:
        wanted_namespace = dict(selector.namespace_labels) if selector.namespace_labels is not None else None
        obj = dict(selector.object_labels or ())
        add_pod(namespace_for(wanted_namespace), obj)  # matches exactly
        if obj:
            add_pod(namespace_for(wanted_namespace), _near_miss(draw, obj))
        if wanted_namespace is not None:
            near = _near_miss(draw, wanted_namespace)
            add_pod(namespace_for(near if near in namespace_labels else None), obj)
    for _ in range(draw(st.integers(min_value=4, max_value=10))):
        add_pod(namespace_for(None), draw(_labels(MATCH_KEYS, 0, 3)))
    return Scenario(profile, tuple(namespaces), tuple(pods))


def draw_scenarios(seed: int, count: int, parameter_keys: ParameterKeys | None = None) -> list[Scenario]:
    """`count` scenarios, the same for the same seed: Hypothesis used as a seeded generator."""
    drawn: list[Scenario] = []

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @hypothesis_seed(seed)
    @given(scenarios(parameter_keys))
    def collect(scenario: Scenario) -> None:
        if len(drawn) < count:
            drawn.append(scenario)

    collect()
    return drawn
