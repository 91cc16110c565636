# virtual-kubelet with its compiled-in mock provider: the virtual nodes of the kind provider.
#
# Built by the kind provider as vnode/virtual-kubelet:<version> and loaded into the kind nodes with
# `kind load docker-image` (no registry is involved). The build is the toolchain's wrapper-module
# build (vnode_harness/toolchain/recipes.py): `go install ...@v1.13.0` fails on the module proxy's
# deprecation lookup, while a throw-away module that requires virtual-kubelet at the pinned version
# and `go build`s its command works. Every base is pinned (exact tag, or tag and digest), and the
# module version is the build argument the provider passes from vnode_harness.versions (the default
# below is kept equal to it by tests/unit/kind/test_dockerfiles.py).
#
# Like the toolchain's build, the module is patched first (vnode_harness/toolchain/patches, passed in
# as the `patches` build context): upstream's mock provider aborts on concurrent map writes when pods
# are created and deleted in parallel. The binary's version says "+vnode.N" so it is never mistaken
# for an unpatched build.
#
# The Go module proxy is whatever the builder's environment names: pass --build-arg GOPROXY=... (the
# provider forwards the host's `go env GOPROXY`), or leave it empty for Go's default.

FROM golang:1.26.4-bookworm AS build
ARG VIRTUAL_KUBELET_VERSION=v1.13.0
ARG VIRTUAL_KUBELET_PATCH_LEVEL=vnode.1
ARG GOPROXY
ARG GOSUMDB
ARG GONOSUMDB
ARG GOPRIVATE
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY --from=patches *.patch /patches/
WORKDIR /wrapper
RUN printf 'module example.invalid/vnode-virtual-kubelet-image\n\ngo 1.25.0\n\nrequire github.com/virtual-kubelet/virtual-kubelet %s\n\nreplace github.com/virtual-kubelet/virtual-kubelet => /src/virtual-kubelet\n' \
        "${VIRTUAL_KUBELET_VERSION}" > go.mod \
    && printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/virtual-kubelet/virtual-kubelet/cmd/virtual-kubelet"\n' \
        > tools.go \
    && module="$(cd /tmp && go mod download -json "github.com/virtual-kubelet/virtual-kubelet@${VIRTUAL_KUBELET_VERSION}" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" \
    && mkdir -p /src && cp -r "${module}" /src/virtual-kubelet && chmod -R u+w /src/virtual-kubelet \
    && (cd /src/virtual-kubelet && for patch in /patches/*.patch; do git apply --verbose "${patch}" || exit 1; done) \
    && go mod tidy \
    && go build -trimpath \
        -ldflags "-s -w -X main.buildVersion=${VIRTUAL_KUBELET_VERSION}+${VIRTUAL_KUBELET_PATCH_LEVEL}" \
        -o /out/virtual-kubelet github.com/virtual-kubelet/virtual-kubelet/cmd/virtual-kubelet \
    && /out/virtual-kubelet version | grep -F "Version: ${VIRTUAL_KUBELET_VERSION}+${VIRTUAL_KUBELET_PATCH_LEVEL}"

# Static binary, no shell: distroless static, as its non-root user.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /out/virtual-kubelet /usr/local/bin/virtual-kubelet
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/virtual-kubelet"]
