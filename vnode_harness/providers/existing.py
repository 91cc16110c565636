"""The `existing` provider: any cluster a kubeconfig points at — how a vendor certifies its product.

Nothing is installed or removed; `up` only checks that the API server answers, so an unreachable
cluster or a bad kubeconfig fails the run at once with the server URL and the error, instead of at
the first test. Without `--kubeconfig` and without `~/.kube/config`, inside a pod (the suite run as a
Job in the cluster under test, `vnode run --in-cluster`), the pod's service account is the cluster's
config, as client-go's in-cluster fallback does.
"""

from __future__ import annotations

from pathlib import Path

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from vnode_harness.formats.implementation import ProviderName
from vnode_harness.plumbing.kube import api_client, in_cluster, in_cluster_kubeconfig
from vnode_harness.providers.base import HostProcessIdentity
from vnode_harness.run_context import ClusterError, ClusterHandle, RunOptions

IN_CLUSTER_KUBECONFIG = "in-cluster.kubeconfig"
"""The kubeconfig written for the pod's service account, in the cluster's logs directory."""


class ExistingCluster:
    name: ProviderName = "existing"
    keeps_cluster = True

    def __init__(self, kubeconfig: Path | None, logs_dir: Path, context: str | None = None) -> None:
        default = Path(config.KUBE_CONFIG_DEFAULT_LOCATION).expanduser()
        self.in_cluster = kubeconfig is None and not default.is_file() and in_cluster()
        """No kubeconfig given or found, inside a pod: the pod's service account is the config."""
        self.kubeconfig = (
            logs_dir / IN_CLUSTER_KUBECONFIG if self.in_cluster else (kubeconfig or default).expanduser()
        )
        self.logs_dir = logs_dir
        self.context = context

    @classmethod
    def from_options(cls, options: RunOptions) -> ExistingCluster:
        return cls(options.kubeconfig, options.cluster_logs_dir)

    def up(self) -> ClusterHandle:
        if self.in_cluster:
            in_cluster_kubeconfig(self.kubeconfig)
        if not self.kubeconfig.is_file():
            raise ClusterError(
                f"--cluster existing: kubeconfig {self.kubeconfig} does not exist (pass --kubeconfig)"
            )
        try:
            api = api_client(self.kubeconfig, "existing-provider")
        except (ConfigException, OSError, ValueError) as error:
            raise ClusterError(f"kubeconfig {self.kubeconfig} cannot be used: {error}") from error
        server = api.configuration.host
        try:
            version = client.VersionApi(api).get_code(_request_timeout=10)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise ClusterError(
                f"the cluster at {server} (from {self.kubeconfig}) is unreachable: {error}"
            ) from error
        except client.ApiException as error:
            raise ClusterError(
                f"the cluster at {server} (from {self.kubeconfig}) refused the version request: "
                f"{error.status} {error.reason}"
            ) from error
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        return ClusterHandle(
            name=server,
            provider="existing",
            kubeconfig=self.kubeconfig.resolve(),
            logs_dir=self.logs_dir,
            kubernetes_version=version.git_version,
        )

    def install_implementation(self, cluster: ClusterHandle) -> HostProcessIdentity:
        """The vendor installed its implementation already: nothing to do."""
        return {}

    def stop_implementation(self) -> str | None:
        """Not ours: a vendor's implementation keeps running."""
        return None

    def down(self) -> None:
        """A vendor's cluster is never torn down; the suite only removes what it created itself."""
