"""The whole runtime (``eci_reference.app.run``) against an in-memory fake API server: start order,
vk-webhook and its caBundle, a real TLS admission call, profile changes and Events, the provisioner,
an API server that goes away and comes back, deletion of the profile, and a clean SIGTERM."""

import asyncio
import base64
import json
import os
import signal
import socket
import ssl
import uuid
from typing import Any

import aiohttp
import pytest

from eci_reference.admission_requests import admission_review
from eci_reference.app import run
from eci_reference.constants import ECI_LABEL, SELECTED_NODE_ANNOTATION
from eci_reference.options import Options
from eci_reference.profile import DEFAULT_PROFILE_DATA

from .fake_apiserver import FakeApiServer, seed

ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
TIMEOUT = 15.0


async def eventually(what, probe, timeout=TIMEOUT):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def review(namespace, labels):
    pod = {
        "metadata": {"name": "p", "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
    }
    return admission_review(pod, namespace=namespace, uid=str(uuid.uuid4()))


async def admit(webhook_configuration, body):
    """Call the webhook as the API server does: its URL, trusting only its caBundle, checking the host."""
    entry = webhook_configuration["webhooks"][0]["clientConfig"]
    context = ssl.create_default_context(cadata=base64.b64decode(entry["caBundle"]).decode())
    async with (
        aiohttp.ClientSession() as session,
        session.post(entry["url"], json=body, ssl=context) as response,
    ):
        assert response.status == 200
        answer = await response.json()
    patch = answer["response"].get("patch")
    return answer["response"], json.loads(base64.b64decode(patch)) if patch else []


def routed(ops):
    return any(
        op["path"] == "/spec/nodeSelector" or op["path"].startswith("/spec/nodeSelector/") for op in ops
    )


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


def test_runtime_end_to_end(workdir):
    asyncio.run(asyncio.wait_for(_scenario(workdir), timeout=120))


async def _scenario(workdir):
    api = FakeApiServer()
    seed(
        api,
        [
            ("namespaces", {"metadata": {"name": "kube-system"}}),
            ("namespaces", {"metadata": {"name": "plain"}}),
            ("namespaces", {"metadata": {"name": "eci-ns", "labels": {ECI_LABEL: "true"}}}),
            (
                "nodes",
                {
                    "metadata": {
                        "name": "virtual-kubelet-cn-hangzhou-j",
                        "labels": {"type": "virtual-kubelet", ZONE: "cn-hangzhou-j", REGION: "cn-hangzhou"},
                    }
                },
            ),
        ],
    )
    await api.start()
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(api.kubeconfig())
    port = free_port()
    options = Options(
        listen_host="127.0.0.1", listen_port=port, workdir=workdir / "work", kubeconfig=kubeconfig
    )
    task = asyncio.create_task(run(options))
    try:
        # --- start: default profile, vk-webhook, StorageClass, CSIDriver, ProfileApplied ----------------
        webhook = await eventually(
            "vk-webhook", lambda: api.get("mutatingwebhookconfigurations", "vk-webhook")
        )
        profile = api.existing("configmaps", "eci-profile", "kube-system")
        assert profile["data"] == {**DEFAULT_PROFILE_DATA, "vSwitchIds": "vsw-hz-i,vsw-hz-j"}
        assert webhook["webhooks"][0]["clientConfig"]["url"] == f"https://127.0.0.1:{port}/mutate"
        assert [entry["name"] for entry in webhook["webhooks"]] == [
            "pod-label.vk-webhook.eci-reference.io",
            "namespace-label.vk-webhook.eci-reference.io",
        ]
        storage_class = await eventually("eci-disk", lambda: api.get("storageclasses", "eci-disk"))
        assert storage_class["volumeBindingMode"] == "Immediate"
        assert api.existing("csidrivers", "disk.eci-reference.io")["spec"]["attachRequired"] is False
        await eventually("ProfileApplied", lambda: api.events_about("eci-profile", "ProfileApplied"))
        # vk-webhook was written only after the admission server answered
        methods = [request for request in api.requests if "mutatingwebhookconfigurations" in request[1]]
        assert methods[0][0] == "GET"

        # --- admission over TLS with the caBundle, like the API server --------------------------------
        response, ops = await admit(webhook, review("plain", {ECI_LABEL: "true"}))
        assert response["allowed"]
        assert routed(ops)
        response, ops = await admit(webhook, review("plain", {}))
        assert response["allowed"]
        assert ops == []
        _, ops = await admit(webhook, review("eci-ns", {}))  # namespace label, via the cache or a GET
        assert routed(ops)
        api.put("namespaces", {"metadata": {"name": "late", "labels": {ECI_LABEL: "true"}}})
        _, ops = await admit(webhook, review("late", {}))
        assert routed(ops)

        # --- an invalid profile: InvalidProfile for that resourceVersion, vk-webhook unchanged ---------
        invalid = api.put("configmaps", {**profile, "data": {**profile["data"], "selectors": "[{not json"}})
        version = invalid["metadata"]["resourceVersion"]
        events = await eventually(
            "InvalidProfile",
            lambda: [
                event
                for event in api.events_about("eci-profile", "InvalidProfile")
                if event["involvedObject"]["resourceVersion"] == version
            ],
        )
        assert events[0]["type"] == "Warning"
        assert events[0]["message"].startswith("selectors: not valid JSON")
        assert len(api.existing("mutatingwebhookconfigurations", "vk-webhook")["webhooks"]) == 2

        # --- a valid profile with a selector and WaitForFirstConsumer ---------------------------------
        selectors = json.dumps([{"name": "web", "objectSelector": {"matchLabels": {"app": "web"}}}])
        api.put(
            "configmaps",
            {
                **invalid,
                "data": {
                    **profile["data"],
                    "selectors": selectors,
                    "featureGates": "WaitForFirstConsumer=true",
                },
            },
        )
        webhook = await eventually(
            "the selector entry",
            lambda: (
                (found := api.get("mutatingwebhookconfigurations", "vk-webhook"))
                and len(found["webhooks"]) == 3
                and found
            ),
        )
        assert webhook["webhooks"][2]["objectSelector"] == {"matchLabels": {"app": "web"}}
        replaced = await eventually(
            "the replaced StorageClass",
            lambda: (
                (found := api.get("storageclasses", "eci-disk"))
                and found["volumeBindingMode"] == "WaitForFirstConsumer"
                and found
            ),
        )
        assert replaced["metadata"]["uid"] != storage_class["metadata"]["uid"]
        _, ops = await admit(webhook, review("plain", {"app": "web"}))
        assert routed(ops)

        # --- the provisioner: deferred until a node is selected, then in the node's zone -------------
        claim = api.put(
            "persistentvolumeclaims",
            {
                "metadata": {"name": "data", "namespace": "plain"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "eci-disk",
                    "resources": {"requests": {"storage": "20Gi"}},
                },
                "status": {"phase": "Pending"},
            },
        )
        # A later claim that already has its node shows the provisioner has handled the first one (the
        # claims watch delivers events in order): only then is "no PV for data" evidence of deferral.
        marker = api.put("persistentvolumeclaims", _claim("marker", "virtual-kubelet-cn-hangzhou-j"))
        await eventually(
            "the marker PV", lambda: api.get("persistentvolumes", f"pvc-{marker['metadata']['uid']}")
        )
        assert [v["metadata"]["name"] for v in api.list("persistentvolumes")] == [
            f"pvc-{marker['metadata']['uid']}"
        ]
        api.delete("persistentvolumes", f"pvc-{marker['metadata']['uid']}")
        api.delete("persistentvolumeclaims", "marker", "plain")
        claim["metadata"]["annotations"] = {SELECTED_NODE_ANNOTATION: "virtual-kubelet-cn-hangzhou-j"}
        api.put("persistentvolumeclaims", claim)
        volume = await eventually(
            "the PV", lambda: api.get("persistentvolumes", f"pvc-{claim['metadata']['uid']}")
        )
        assert volume["metadata"]["labels"] == {ZONE: "cn-hangzhou-j", REGION: "cn-hangzhou"}
        assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
        await eventually("ProvisioningSucceeded", lambda: api.events_about("data", "ProvisioningSucceeded"))
        # play the PV controller: bind the claim to the volume
        claim = api.existing("persistentvolumeclaims", "data", "plain")
        claim["spec"]["volumeName"] = volume["metadata"]["name"]
        api.put("persistentvolumeclaims", {**claim, "status": {"phase": "Bound"}})
        api.put("persistentvolumes", {**volume, "status": {"phase": "Bound"}})

        # --- the API server goes away and comes back: the watches re-list ------------------------------
        await api.stop()
        await asyncio.sleep(1.0)
        await api.start()
        api.put(
            "configmaps",
            {**api.existing("configmaps", "eci-profile", "kube-system"), "data": dict(profile["data"])},
        )
        await eventually(
            "vk-webhook back to two entries after the reconnect",
            lambda: len(api.existing("mutatingwebhookconfigurations", "vk-webhook")["webhooks"]) == 2,
            timeout=40,
        )

        # --- a released PV of ours is deleted -------------------------------------------------------------
        api.delete("persistentvolumeclaims", "data", "plain")
        volume = api.existing("persistentvolumes", volume["metadata"]["name"])
        api.put("persistentvolumes", {**volume, "status": {"phase": "Released"}})
        await eventually("the released PV deleted", lambda: not api.list("persistentvolumes"))
        # Nothing is provisioned again for the deleted claim: once a later claim got its PV, the deletion
        # was handled (in order), and that PV is the only one.
        marker = api.put("persistentvolumeclaims", _claim("marker-2", "virtual-kubelet-cn-hangzhou-j"))
        await eventually(
            "the marker PV", lambda: api.get("persistentvolumes", f"pvc-{marker['metadata']['uid']}")
        )
        assert [v["metadata"]["name"] for v in api.list("persistentvolumes")] == [
            f"pvc-{marker['metadata']['uid']}"
        ]

        # --- a deleted profile is recreated with the defaults --------------------------------------------
        old_uid = api.existing("configmaps", "eci-profile", "kube-system")["metadata"]["uid"]
        api.delete("configmaps", "eci-profile", "kube-system")
        recreated = await eventually(
            "the recreated profile", lambda: api.get("configmaps", "eci-profile", "kube-system")
        )
        assert recreated["metadata"]["uid"] != old_uid
        assert recreated["data"]["vSwitchIds"] == "vsw-hz-i,vsw-hz-j"

        # --- SIGTERM: exit 0, vk-webhook left in place ---------------------------------------------------
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(task, 10) == 0
        assert api.get("mutatingwebhookconfigurations", "vk-webhook") is not None
    finally:
        if not task.done():
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await api.stop()


def test_unreachable_api_server_exits_2_naming_the_server(workdir, caplog):
    kubeconfig = workdir / "kubeconfig"
    api = FakeApiServer()
    api.port = free_port()  # nothing listens there
    kubeconfig.write_text(api.kubeconfig())
    options = Options(
        listen_host="127.0.0.1", listen_port=free_port(), workdir=workdir / "w", kubeconfig=kubeconfig
    )
    assert asyncio.run(run(options)) == 2
    assert f"cannot use the Kubernetes API server at http://127.0.0.1:{api.port}" in caplog.text


def test_a_port_in_use_exits_2_before_vk_webhook_is_written(workdir, caplog):
    async def scenario():
        api = FakeApiServer()
        await api.start()
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.write_text(api.kubeconfig())
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            options = Options(
                listen_host="127.0.0.1", listen_port=port, workdir=workdir / "w", kubeconfig=kubeconfig
            )
            try:
                assert await run(options) == 2
            finally:
                await api.stop()
        assert api.get("mutatingwebhookconfigurations", "vk-webhook") is None
        assert api.get("configmaps", "eci-profile", "kube-system") is not None  # created before listening

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))
    assert "cannot listen on 127.0.0.1:" in caplog.text


def test_a_bad_cloud_config_exits_2_before_any_network(workdir, caplog):
    bad = workdir / "cloud.yaml"
    bad.write_text("region: cn-hangzhou\n")
    options = Options(
        listen_host="127.0.0.1",
        listen_port=free_port(),
        workdir=workdir / "w",
        kubeconfig=workdir / "missing",
        cloud_config=bad,
    )
    assert asyncio.run(run(options)) == 2
    assert f"cloud config {bad} is invalid" in caplog.text
    assert not (workdir / "w").exists()


def _claim(name: str, node: str) -> dict[str, Any]:
    """A pending eci-disk claim whose consumer the scheduler already placed on `node`."""
    return {
        "metadata": {"name": name, "namespace": "plain", "annotations": {SELECTED_NODE_ANNOTATION: node}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "eci-disk",
            "resources": {"requests": {"storage": "1Gi"}},
        },
        "status": {"phase": "Pending"},
    }
