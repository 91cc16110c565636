# The conformance suite as an image (`vnode/conformance:<version>`), for `vnode run --in-cluster`: the
# suite runs as a Job inside the cluster under test. Built from package registries only, like the
# reference implementation's image: Debian's own Python 3.11 on the project's debootstrap image, and
# the dependencies as wheels made on the host with its pip settings (the wheels image: every dependency
# of the project, hypothesis included), installed offline. The build context is a copy of the checkout's suite files (vnode_harness/providers/kind/
# images/suite.py): the harness, the conformance tests, the catalogue and fixtures, the implementation
# files, the report schema. The harness is installed editable, as tox installs it: the suite, the
# catalogue and the fixtures are read from the source tree (vnode_harness.formats.paths).
FROM vnode/eci-reference-wheels:dev AS wheels

FROM vnode/debian:bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INDEX=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=wheels /wheels /wheels
COPY suite /opt/vnode-conformance
RUN python3 -m venv /opt/vnode-venv \
 && /opt/vnode-venv/bin/pip install --quiet --find-links /wheels --editable /opt/vnode-conformance \
 && rm -rf /wheels \
 && groupadd --system --gid 65532 vnode \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin vnode
ENV PATH=/opt/vnode-venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /opt/vnode-conformance
# Numeric, so that the pod's runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
# The pod's side of `vnode run --in-cluster`: pytest, then the run directory packed for the runner.
ENTRYPOINT ["python", "-m", "vnode_harness.incluster.pod"]
