"""Run generated scenarios against the live implementation and compare every pod with the model.

Per scenario: write its profile through the profile editor (locked, restored byte for byte by the
fixture), create its namespaces and pods, wait until every pod is bound, and compare where each pod
runs (virtual node or not, by the declared selector) and its labels and annotations with the model.
Only keys the generator uses are compared — the ECI label, the generator's own prefix, the seed's
image-cache annotation and the parameter annotations — so an implementation's (or Istio's) own
additions are never held against it.
A mismatch is reported with the smallest failing case first and a command that replays it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kubernetes import client

from vnode_harness.formats.implementation import Implementation
from vnode_harness.plumbing.waits import wait_for
from vnode_harness.testapi.generative.model import ECI_LABEL, Expectation, ParameterKeys, expect
from vnode_harness.testapi.generative.strategies import JUDGED_PREFIXES, PodCase, Scenario
from vnode_harness.testapi.observe import virtual_nodes
from vnode_harness.testapi.workloads import create_namespace, delete_namespaces, pod_manifest

ApplyProfile = Callable[[Mapping[str, str | None]], object]


@dataclass(frozen=True)
class Mismatch:
    scenario: int
    pod: int
    namespace_labels: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]
    expected: Expectation
    seen_node: str
    seen_virtual: bool
    seen_labels: dict[str, str]
    seen_annotations: dict[str, str]
    differences: tuple[str, ...]

    @property
    def size(self) -> int:
        """How much input the case carries: the smallest failing case is shown first."""
        return len(self.namespace_labels) + len(self.labels) + len(self.annotations)


def profile_changes(scenario: Scenario) -> dict[str, str | None]:
    return scenario.profile.to_data()


def _judged(keys: Mapping[str, str], parameter_keys: ParameterKeys | None) -> dict[str, str]:
    extra = {parameter_keys.security_group, parameter_keys.vswitch} if parameter_keys else set()
    return {k: v for k, v in keys.items() if k == ECI_LABEL or k.startswith(JUDGED_PREFIXES) or k in extra}


def _differences(
    expected: Expectation, virtual: bool, seen_metadata: tuple[dict[str, str], dict[str, str]]
) -> tuple[str, ...]:
    found = []
    if virtual != expected.eci:
        found.append("expected a virtual node" if expected.eci else "expected a regular node")
    labels, annotations = seen_metadata
    pairs = (("label", expected.labels, labels), ("annotation", expected.annotations, annotations))
    for kind, want, seen in pairs:
        for key in sorted(set(want) | set(seen)):
            if want.get(key) != seen.get(key):
                found.append(f"{kind} {key}: expected {want.get(key)!r}, seen {seen.get(key)!r}")
    return tuple(found)


class ScenarioRunner:
    def __init__(
        self,
        core: client.CoreV1Api,
        implementation: Implementation,
        run_id: str,
        parameter_keys: ParameterKeys | None,
    ) -> None:
        self.core = core
        self.implementation = implementation
        self.run_id = run_id
        self.parameter_keys = parameter_keys
        self.virtual = {n.metadata.name for n in virtual_nodes(core, implementation.observation)}
        self.branches: set[str] = set()
        """The model branches the pods checked so far exercised (the coverage figure of a run)."""
        self.pods_checked = 0

    def run(
        self, index: int, scenario: Scenario, apply_profile: ApplyProfile, only_pod: int | None = None
    ) -> list[Mismatch]:
        """Apply the scenario's profile, create its pods, compare each with the model; clean up."""
        apply_profile(profile_changes(scenario))
        pods = [(i, pod) for i, pod in enumerate(scenario.pods) if only_pod is None or i == only_pod]
        wanted_namespaces = sorted({pod.namespace for _, pod in pods})
        existing: list[str] = []  # every namespace as soon as it exists: deleted even if interrupted
        created: dict[int, str] = {}
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                created = dict(
                    zip(
                        wanted_namespaces,
                        pool.map(
                            lambda n: (
                                create_namespace(
                                    self.core,
                                    f"vnc-gen-{index}-{n}",
                                    self.run_id,
                                    dict(scenario.namespaces[n]),
                                    on_created=existing.append,
                                ).name
                            ),
                            wanted_namespaces,
                        ),
                        strict=True,
                    )
                )
                # The pods are independent of each other (the model judges each alone): created
                # together, a scenario's dozen or so admissions take about as long as one.
                list(pool.map(lambda case: self._create_pod(created[case[1].namespace], *case), pods))
            bound = self._wait_bound(created)
            found = []
            for i, pod in pods:
                seen = bound[(created[pod.namespace], f"pod-{i}")]
                mismatch = self._compare(scenario, (index, i), pod, seen)
                if mismatch:
                    found.append(mismatch)
            return found
        finally:  # as every test's namespaces: waits out an API server restart, a first interrupt
            delete_namespaces(self.core, existing)

    def _create_pod(self, namespace: str, index: int, case: PodCase) -> None:
        manifest = pod_manifest(f"pod-{index}", labels=dict(case.labels), annotations=dict(case.annotations))
        self.core.create_namespaced_pod(namespace, manifest)

    def _wait_bound(self, created: dict[int, str]) -> dict[tuple[str, str], client.V1Pod]:
        def probe() -> tuple[dict[tuple[str, str], client.V1Pod] | None, str]:
            pods = {}
            for name in created.values():
                for pod in self.core.list_namespaced_pod(name).items:
                    pods[(name, pod.metadata.name)] = pod
            unbound = sorted(f"{ns}/{name}" for (ns, name), pod in pods.items() if not pod.spec.node_name)
            return (pods if not unbound else None), f"not bound yet: {unbound}"

        return wait_for(
            "every generated pod to be bound to a node",
            probe,
            timeout=float(self.implementation.limits.pod_running_seconds),
            hint="kubectl get pods -A -o wide | grep vnc-gen-",
        )

    def _compare(
        self, scenario: Scenario, where: tuple[int, int], case: PodCase, pod: client.V1Pod
    ) -> Mismatch | None:
        namespace_labels = dict(scenario.namespaces[case.namespace])
        modelled = expect(
            scenario.profile, namespace_labels, dict(case.labels), dict(case.annotations), self.parameter_keys
        )
        expected = Expectation(
            modelled.eci,
            _judged(modelled.labels, self.parameter_keys),
            _judged(modelled.annotations, self.parameter_keys),
            modelled.rules,
            modelled.branches,
        )
        self.branches |= modelled.branches
        self.pods_checked += 1
        virtual = pod.spec.node_name in self.virtual
        labels = _judged(pod.metadata.labels or {}, self.parameter_keys)
        annotations = _judged(pod.metadata.annotations or {}, self.parameter_keys)
        differences = _differences(expected, virtual, (labels, annotations))
        if not differences:
            return None
        return Mismatch(
            where[0],
            where[1],
            namespace_labels,
            dict(case.labels),
            dict(case.annotations),
            expected,
            pod.spec.node_name,
            virtual,
            labels,
            annotations,
            differences,
        )


def describe_mismatches(
    mismatches: list[Mismatch], scenarios: list[Scenario], replay: Callable[[Mismatch], str]
) -> str:
    """The failure message: how many differ, then the smallest case in full, then one line per other."""
    ordered = sorted(mismatches, key=lambda m: (m.size, m.scenario, m.pod))
    first = ordered[0]
    profile = [selector.to_json() for selector in scenarios[first.scenario].profile.selectors]
    where = "a virtual node" if first.seen_virtual else "a regular node"
    lines = [
        f"{len(mismatches)} generated pod(s) differ from the model of the documented rules; the smallest:",
        f"  scenario {first.scenario}, pod {first.pod}",
        f"  profile selectors: {json.dumps(profile)}",
        f"  profile parameters: securityGroupId={scenarios[first.scenario].profile.security_group_id!r}, "
        f"vSwitchIds={scenarios[first.scenario].profile.vswitch_ids!r}",
        f"  namespace labels: {first.namespace_labels}",
        f"  pod labels: {first.labels}, annotations: {first.annotations}",
        f"  expected: {'ECI pod on a virtual node' if first.expected.eci else 'regular node'}, "
        f"labels {first.expected.labels}, annotations {first.expected.annotations} "
        f"(rules: {', '.join(first.expected.rules) or 'none'})",
        f"  seen: {where} ({first.seen_node}), labels {first.seen_labels}, "
        f"annotations {first.seen_annotations}",
        f"  differences: {'; '.join(first.differences)}",
        f"  replay exactly this case: {replay(first)}",
    ]
    for other in ordered[1:10]:
        lines.append(f"  also scenario {other.scenario} pod {other.pod}: {'; '.join(other.differences)}")
    if len(ordered) > 10:
        lines.append(f"  … and {len(ordered) - 10} more")
    return "\n".join(lines)
