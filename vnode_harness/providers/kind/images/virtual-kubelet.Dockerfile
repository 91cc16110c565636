# virtual-kubelet with its compiled-in mock provider: the virtual nodes of the kind provider.
#
# Built by the kind provider as vnode/virtual-kubelet:<version>-<patch level> and loaded into the kind
# nodes with `kind load docker-image` (no registry is involved). The binary is the toolchain's own
# build (vnode_harness/toolchain/recipes.py: pinned module, patched mock provider, static), passed in
# as the named build context `toolchain` — the same binary the local provider runs, so Docker needs no
# Go toolchain or module proxy. Named build contexts need BuildKit (Docker's default since 23.0).

# Static binary, no shell: distroless static, as its non-root user.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=toolchain virtual-kubelet /usr/local/bin/virtual-kubelet
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/virtual-kubelet"]
