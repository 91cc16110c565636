"""Inside a pod the service account is the cluster's config: a kubeconfig naming its token file."""

from __future__ import annotations

from pathlib import Path

import pytest

from vnode_harness.plumbing.kube import api_client, in_cluster, in_cluster_kubeconfig, runs_in_cluster


@pytest.fixture
def account(tmp_path: Path) -> Path:
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text("token-one")
    (directory / "ca.crt").write_text("not a real CA, never read before a request")
    return directory


ENV = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def test_a_pod_is_recognised_by_its_service_host_and_token(account):
    assert in_cluster(ENV, account)
    assert not in_cluster({}, account)
    assert not in_cluster(ENV, account / "missing")


def test_the_kubeconfig_uses_the_service_address_and_reads_the_token_file(tmp_path, account):
    kubeconfig = in_cluster_kubeconfig(tmp_path / "cluster" / "in-cluster.kubeconfig", ENV, account)
    api = api_client(kubeconfig, "test")
    assert api.configuration.host == "https://10.96.0.1:443"
    assert api.configuration.api_key == {"BearerToken": "Bearer token-one"}
    (account / "token").write_text("token-two")  # the kubelet rotated it: the next client reads the new one
    assert api_client(kubeconfig, "test").configuration.api_key == {"BearerToken": "Bearer token-two"}


def test_an_ipv6_service_address_is_bracketed(tmp_path, account):
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"}
    kubeconfig = in_cluster_kubeconfig(tmp_path / "k", env, account)
    assert "https://[fd00::1]:6443" in kubeconfig.read_text()


def test_only_the_pods_own_account_counts_as_running_in_the_cluster(tmp_path, account, monkeypatch):
    monkeypatch.setattr("vnode_harness.plumbing.kube.in_cluster", lambda account_dir: True)
    own = in_cluster_kubeconfig(tmp_path / "own", ENV, account)
    assert runs_in_cluster(own, account)
    other = tmp_path / "other"
    other.write_text("users: [{name: u, user: {token: abc}}]\n")
    assert not runs_in_cluster(other, account)
    monkeypatch.setattr("vnode_harness.plumbing.kube.in_cluster", lambda account_dir: False)
    assert not runs_in_cluster(own, account)  # the same file on a host is not a run inside the cluster
