"""The suite as a Job inside the cluster under test (`vnode run --in-cluster`), for vendors whose CI
cannot hold a kubeconfig to a private API server: the runner on the host (`runner`) creates a
namespace, a ServiceAccount and the least RBAC the suite needs (`manifests`), runs the suite image as
a Job whose pod (`pod`) runs `pytest conformance --cluster existing` with its service account, streams
the pod's log, fetches the run directory through the exec API (`transfer`), and removes everything it
created, on Ctrl-C too. docs/in-cluster.md."""
