"""The registry of mutants: deliberately wrong implementations, at least one per catalogue requirement.

A conformance suite that stays green against a broken implementation certifies nothing. Each mutant is
the reference implementation with ONE documented behaviour wrong, the way a vendor could get it wrong;
``tests.mutation.matrix`` runs the suite against each and expects exactly its requirement to fail while
its ``controls`` (requirements the defect must leave intact) pass. How to add one: docs/mutation.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.mutation.defects import effects, mesh, parameters, scheduling, selectors, storage


@dataclass(frozen=True)
class Mutant:
    """One wrong implementation: ``patch()`` turns the reference into it, in this process."""

    name: str
    requirement: str
    """The catalogue id the defect must make *failed*."""
    description: str
    """One line: what is wrong, and which documented rule that breaks."""
    patch: Callable[[], None]
    controls: tuple[str, ...] = ()
    """Requirements the defect must leave passing (run with it); empty: two others of the same feature."""


def _registry(*mutants: Mutant) -> dict[str, Mutant]:
    names = [mutant.name for mutant in mutants]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"mutant names used twice: {duplicates}")
    return {mutant.name: mutant for mutant in mutants}


MUTANTS: dict[str, Mutant] = _registry(
    # --- core-scheduling -----------------------------------------------------------------------------
    Mutant("pod-label-ignored", "SCHED-POD-LABEL",
           "the pod's own alibabacloud.com/eci=true routes nothing, only namespace labels and selectors do "
           "(breaks: the label can be applied at the pod level)",
           scheduling.pod_label_ignored, ("SCHED-NS-LABEL", "SCHED-NOT-TRUE")),
    Mutant("namespace-remembered-as-eci", "SCHED-POD-SELECTIVE",
           "once a labelled pod was admitted in a namespace, every later pod there is routed too (breaks: "
           "other pods in the same namespace continue to run on regular nodes)",
           scheduling.namespace_remembered_as_eci, ("SCHED-POD-LABEL", "SCHED-NS-LABEL")),
    Mutant("namespace-label-ignored", "SCHED-NS-LABEL",
           "the namespace's alibabacloud.com/eci=true routes nothing (breaks: the namespace label covers "
           "all pods)",
           scheduling.namespace_label_ignored, ("SCHED-POD-LABEL", "SCHED-NOT-TRUE")),
    Mutant("labelled-namespace-evicts-pods", "SCHED-NS-NEW-PODS-ONLY",
           "labelling a namespace deletes its running pods so that they come back on virtual nodes "
           "(breaks: only new pods in the namespace are scheduled to virtual nodes)",
           scheduling.labelled_namespace_evicts_its_pods, ("SCHED-NS-LABEL", "SCHED-POD-SELECTIVE")),
    Mutant("eci-label-presence-routes", "SCHED-NOT-TRUE",
           "any value of alibabacloud.com/eci routes, e.g. \"false\" (breaks: only the label =true controls "
           "scheduling)",
           scheduling.label_presence_routes, ("SCHED-POD-LABEL", "SCHED-NS-LABEL")),
    Mutant("eci-label-case-insensitive", "SCHED-NOT-TRUE",
           "alibabacloud.com/eci is compared case-insensitively, so \"True\" routes (breaks: only the label "
           "=true controls scheduling)",
           scheduling.label_value_case_insensitive, ("SCHED-POD-LABEL", "SCHED-NS-LABEL")),
    # --- selectors-effects: ECI Scheduler --------------------------------------------------------------
    Mutant("object-selector-does-not-route", "SEL-OBJECT",
           "a selector with only an objectSelector injects its effect but does not route the pod (breaks: "
           "the selector routes pods with the imc: auto label to ECI)",
           selectors.object_selector_does_not_route, ("SEL-NAMESPACE", "SEL-AND-BOTH")),
    Mutant("namespace-only-selector-ignored", "SEL-NAMESPACE",
           "a selector with only a namespaceSelector matches no pod (breaks: it routes pods in GPU-labeled "
           "namespaces to ECI)",
           selectors.namespace_only_selector_ignored, ("SEL-OBJECT", "SEL-AND-BOTH")),
    Mutant("selector-sides-ored", "SEL-AND-BOTH",
           "namespaceSelector and objectSelector are ORed (breaks: if both are configured, a pod must "
           "satisfy both filters)",
           selectors.selector_sides_ored, ("SEL-OBJECT", "SEL-NAMESPACE")),
    Mutant("match-labels-ored", "SEL-AND-LABELS",
           "one label of a matchLabels is enough (breaks: multiple labels use AND logic)",
           selectors.match_labels_ored, ("SEL-OBJECT", "SEL-AND-BOTH")),
    Mutant("selectors-not-in-webhook-configuration", "SEL-WEBHOOK-VISIBLE",
           "selectors route through one catch-all vk-webhook entry and never appear in it (breaks: the "
           "output contains your configured selectors)",
           selectors.selectors_not_in_webhook_configuration, ("SEL-OBJECT", "SEL-NAMESPACE")),
    Mutant("lenient-selector-parsing", "SEL-INVALID-JSON",
           "a lone selector object is read as a list and a nameless selector is given a name, so they become "
           "active (breaks: check the selector JSON for formatting errors; name is required)",
           selectors.lenient_selector_parsing, ("SEL-OBJECT", "SEL-WEBHOOK-VISIBLE")),
    Mutant("duplicate-selector-names-last-wins", "SEL-UNIQUE-NAMES",
           "selectors are kept in a map by name, so of two with the same name the last one is active "
           "(breaks: a selector's name is unique)",
           selectors.duplicate_selector_names_last_wins, ("SEL-OBJECT", "SEL-INVALID-JSON")),
    Mutant("valid-parts-of-invalid-profile-applied", "SEL-INVALID-JSON",
           "a profile with invalid selectors keeps the last valid selectors but its cluster-level parameters "
           "take effect (breaks: an invalid profile leaves the last valid profile in force — all of it)",
           selectors.valid_parts_of_invalid_profile_applied, ("SEL-OBJECT", "EFF-ANNOTATIONS")),
    # --- selectors-effects: ECI Effect -----------------------------------------------------------------
    Mutant("aliyun-effect-annotations-dropped", "EFF-ANNOTATIONS",
           "effect annotations under k8s.aliyun.com/ other than eci-vswitch and eci-security-group are "
           "dropped as unknown (breaks: annotations to inject into matched pods)",
           effects.aliyun_effect_annotations_dropped, ("EFF-ORDER", "EFF-NO-OVERWRITE")),
    Mutant("effect-labels-ignored", "EFF-LABELS",
           "effects inject their annotations but never their labels (breaks: labels to inject into matched "
           "pods)",
           effects.effect_labels_ignored, ("EFF-ANNOTATIONS", "EFF-NO-OVERWRITE")),
    Mutant("effects-overwrite-pod-values", "EFF-NO-OVERWRITE",
           "an effect replaces a label or annotation the pod already has (breaks: injected annotations and "
           "labels do not overwrite existing ones)",
           effects.effects_overwrite_pod_values, ("EFF-ANNOTATIONS", "EFF-LABELS")),
    Mutant("empty-pod-values-overwritten", "EFF-NO-OVERWRITE",
           "a label or annotation the pod carries with an empty value counts as missing and is filled in by "
           "an effect (breaks: injected annotations and labels do not overwrite existing ones; \"\" exists)",
           effects.empty_pod_values_overwritten, ("EFF-ANNOTATIONS", "EFF-LABELS")),
    Mutant("effect-annotation-values-sanitized", "EFF-ANNOTATIONS",
           "effect annotation values are made valid label values (characters outside [A-Za-z0-9._-] "
           "replaced, cut to 63) (breaks: the annotations to inject arrive as the profile states them)",
           effects.effect_annotation_values_sanitized, ("EFF-LABELS", "EFF-NO-OVERWRITE")),
    Mutant("last-effect-wins", "EFF-ORDER",
           "a later selector's value replaces an earlier one's on a shared key (breaks: effect of the first "
           "matching selector > effect of the second)",
           effects.last_effect_wins, ("EFF-ANNOTATIONS", "EFF-LABELS")),
    Mutant("global-effects-ignored", "EFF-GLOBAL",
           "a selector with neither namespaceSelector nor objectSelector applies to no pod (breaks: the "
           "effect applies to all pods scheduled to ECI); not controlled by EFF-ORDER or EFF-ECI-ONLY, "
           "whose global halves must first see a global effect applied to judge where it goes",
           effects.global_effects_ignored, ("EFF-ANNOTATIONS", "EFF-NO-OVERWRITE")),
    Mutant("global-effect-routes-every-pod", "EFF-GLOBAL",
           "a selector with only an effect routes every pod to ECI (breaks: it applies its effect to pods "
           "scheduled to ECI and routes nothing by itself); its profile state would leak into neighbouring "
           "tests without the readers/writer profile lock (tests/integration/test_isolation.py)",
           effects.global_effect_routes_every_pod, ("SCHED-POD-SELECTIVE", "EFF-ANNOTATIONS")),
    Mutant("partial-match-effects-on-regular-pods", "EFF-ECI-ONLY",
           "a pod that matches only a selector's objectSelector stays on a regular node but gets its effect "
           "(breaks: ECI Effect injects into the pods routed to ECI)",
           effects.partial_match_effects_on_regular_pods, ("EFF-ANNOTATIONS", "EFF-GLOBAL")),
    Mutant("global-effect-on-regular-pods", "EFF-ECI-ONLY",
           "a pod left on a regular node gets every global effect (breaks: the effect applies to all pods "
           "scheduled to ECI, and effects are not injected into pods on regular nodes)",
           effects.global_effect_on_regular_pods, ("EFF-GLOBAL", "EFF-ANNOTATIONS")),
    Mutant("global-effects-applied-last", "EFF-ORDER",
           "global effects lose every shared key to routing selectors' effects, wherever they stand in the "
           "profile (breaks: effect of the first matching selector > effect of the second)",
           effects.global_effects_applied_last, ("EFF-GLOBAL", "EFF-ANNOTATIONS")),
    Mutant("effects-reapplied-to-running-pods", "EFF-AT-CREATION",
           "after a profile change, running pods that now match a selector get its effect patched on "
           "(breaks: ECI Effect injects annotations and labels at creation time)",
           effects.effects_reapplied_to_running_pods, ("EFF-ANNOTATIONS", "EFF-LABELS")),
    Mutant("namespace-relabel-reapplies-effects", "EFF-AT-CREATION",
           "when a namespace's labels change, its running pods get the effects of the selectors they now "
           "match (breaks: ECI Effect injects annotations and labels at creation time)",
           effects.namespace_relabel_reapplies_effects, ("EFF-ANNOTATIONS", "EFF-LABELS")),
    Mutant("label-and-annotation-keys-shared", "GEN-ROUTING-EFFECTS",
           "injected keys share one key space: after an effect injected label K no effect injects annotation "
           "K, and the other way round (breaks: annotations and labels to inject into matched pods)",
           effects.label_and_annotation_keys_shared, ("EFF-ANNOTATIONS", "EFF-LABELS")),
    # --- hot-updates -----------------------------------------------------------------------------------
    Mutant("routing-decisions-cached", "HOT-SELECTORS",
           "a label set once routed stays routed after its selector is removed (positive routing decisions "
           "are cached across profile changes) (breaks: removed selectors no longer route)",
           parameters.routing_decisions_cached, ("PARAM-DEFAULTS", "HOT-PARAMS-NEW-PODS")),
    Mutant("profile-read-once", "HOT-PARAMS-NEW-PODS",
           "the profile read at start stays in force, changes apply only after a restart (breaks: changes "
           "take effect immediately for new ECI pods without restarting)",
           parameters.profile_read_once, ("SCHED-POD-LABEL", "SCHED-NS-LABEL")),
    Mutant("parameter-defaults-cached-per-namespace", "HOT-PARAMS-NEW-PODS",
           "vSwitchIds and securityGroupId are read at a namespace's first ECI pod and reused there (breaks: "
           "changes take effect immediately for new ECI pods)",
           parameters.parameter_defaults_cached_per_namespace, ("PARAM-DEFAULTS", "PARAM-VALIDATION")),
    Mutant("hot-update-reannotates-existing-pods", "HOT-PARAMS-EXISTING",
           "a changed vSwitchIds or securityGroupId is patched onto running pods that had the old value "
           "(breaks: existing pods pick up changes only after a rolling update)",
           parameters.hot_update_reannotates_existing_pods, ("HOT-PARAMS-NEW-PODS", "PARAM-DEFAULTS")),
    Mutant("profile-parameters-override-pod-values", "PARAM-DEFAULTS",
           "the profile's vSwitchIds and securityGroupId replace the pod's own values (breaks: the profile "
           "values are used as defaults when you do not set these parameters)",
           parameters.profile_parameters_override_pod_values, ("HOT-PARAMS-NEW-PODS", "PARAM-VALIDATION")),
    Mutant("no-parameter-defaults", "PARAM-DEFAULTS",
           "the profile's vSwitchIds and securityGroupId are not given to pods (breaks: the eci-profile "
           "values are used as defaults)",
           parameters.no_parameter_defaults, ("HOT-SELECTORS", "SCHED-NS-LABEL")),
    Mutant("invalid-parameters-applied-anyway", "PARAM-VALIDATION",
           "a profile with an unknown feature gate or enableLogController without slsMachineGroup is "
           "reported but applied without those settings (breaks: only WaitForFirstConsumer is supported)",
           parameters.invalid_parameters_applied_anyway, ("PARAM-DEFAULTS", "HOT-SELECTORS")),
    Mutant("invalid-profile-falls-back-to-defaults", "PARAM-VALIDATION",
           "a rejected profile puts the built-in defaults in force instead of the last valid profile "
           "(breaks: the last valid profile stays in force)",
           parameters.invalid_profile_falls_back_to_defaults, ("PARAM-DEFAULTS", "HOT-SELECTORS")),
    Mutant("omitted-parameters-rejected", "PARAM-OMITTED-DEFAULTS",
           "a profile without featureGates or enableLogController is rejected (breaks: featureGates "
           "defaults to WaitForFirstConsumer=false)",
           parameters.omitted_parameters_rejected, ("PARAM-DEFAULTS", "PARAM-VALIDATION")),
    # --- storage ---------------------------------------------------------------------------------------
    Mutant("binding-mode-never-switched", "WFFC-STORAGECLASS-MODE",
           "the eci-disk StorageClass stays Immediate whatever featureGates says (breaks: with "
           "WaitForFirstConsumer=true the StorageClass uses WaitForFirstConsumer)",
           storage.binding_mode_never_switched, ("WFFC-OFF-IMMEDIATE",)),
    Mutant("deferral-ignored", "WFFC-ON-DEFERS",
           "with WaitForFirstConsumer the disk is still created at once, before any pod uses the claim "
           "(breaks: PV creation is deferred until a pod using the PVC is scheduled)",
           storage.deferral_ignored, ("WFFC-STORAGECLASS-MODE", "WFFC-OFF-IMMEDIATE")),
    Mutant("volume-in-storage-class-zone", "WFFC-ON-ZONE",
           "with WaitForFirstConsumer the disk waits for the pod's node, then goes to the StorageClass's "
           "zone (breaks: the zone of the scheduled node, not the StorageClass's, is used)",
           storage.volume_in_storage_class_zone, ("WFFC-STORAGECLASS-MODE", "WFFC-OFF-IMMEDIATE")),
    Mutant("volume-region-of-the-cluster", "WFFC-ON-ZONE",
           "with WaitForFirstConsumer the disk goes to the node's zone but carries the cluster's region "
           "(breaks: the zone and region of the scheduled node are used)",
           storage.volume_region_of_the_cluster, ("WFFC-STORAGECLASS-MODE", "WFFC-OFF-IMMEDIATE")),
    Mutant("immediate-binding-deferred", "WFFC-OFF-IMMEDIATE",
           "every claim waits for a consumer's node, also in Immediate mode, where none is ever selected "
           "(breaks: WaitForFirstConsumer=false binds at once)",
           storage.immediate_binding_deferred, ("WFFC-STORAGECLASS-MODE", "WFFC-ON-DEFERS")),
    Mutant("omitted-feature-gate-kept", "WFFC-DEFAULT-IMMEDIATE",
           "a profile without featureGates keeps the previous profile's WaitForFirstConsumer=true (breaks: "
           "featureGates defaults to WaitForFirstConsumer=false)",
           storage.omitted_feature_gate_kept, ("WFFC-STORAGECLASS-MODE", "WFFC-OFF-IMMEDIATE")),
    # --- mesh ------------------------------------------------------------------------------------------
    Mutant("sidecar-stripped-on-pod-label-route", "MESH-POD-LABEL",
           "a pod routed by its own label loses the injected istio-proxy container, READY 1/1 (breaks: "
           "2/2 confirms the application container and the Envoy sidecar are running)",
           mesh.sidecar_stripped_on_pod_label_route, ("MESH-NS-LABEL", "MESH-NO-INJECTION")),
    Mutant("sidecar-stripped-on-namespace-route", "MESH-NS-LABEL",
           "a pod routed by its namespace's label loses the injected istio-proxy container, READY 1/1 "
           "(breaks: both labels must be in effect for a pod to participate in the mesh)",
           mesh.sidecar_stripped_on_namespace_route, ("MESH-POD-LABEL", "MESH-NO-INJECTION")),
    Mutant("sidecar-added-to-eci-pods", "MESH-NO-INJECTION",
           "every ECI pod gets an istio-proxy container, also without istio-injection, READY 2/2 (breaks: "
           "a pod showing 1/1 means the sidecar was not injected)",
           mesh.sidecar_added_to_eci_pods, ("MESH-POD-LABEL", "MESH-INJECTION-NO-ROUTING")),
    Mutant("mesh-namespaces-routed", "MESH-INJECTION-NO-ROUTING",
           "a namespace with istio-injection=enabled is treated as an ECI namespace (breaks: two independent "
           "labeling systems)",
           mesh.mesh_namespaces_routed, ("MESH-POD-LABEL", "MESH-NO-INJECTION")),
)  # fmt: skip

NO_MUTANT: dict[str, str] = {}
"""Requirement id -> why no implementation defect can break it (none so far: every declared one has a
mutant). The matrix reports such a requirement as "no mutant: <reason>" instead of "uncovered"."""

FAST: tuple[str, ...] = (
    "labelled-namespace-evicts-pods",
    "last-effect-wins",
    "no-parameter-defaults",
    "deferral-ignored",
    "sidecar-added-to-eci-pods",
)
"""CI's always-on subset: one mutant per declared feature, among the cheapest of the measured matrix
(8 to 13 s each: one short test plus its controls; docs/mutation.md)."""
