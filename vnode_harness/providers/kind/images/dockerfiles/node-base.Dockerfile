# The kind node's base, as kind v0.33.0's images/base/Dockerfile lays it out, from Debian packages:
# systemd, containerd, runc and the CNI plugins are Debian's (containerd 1.6, where kind's own images
# carry 2.x), kind's files (entrypoint, systemd units, containerd config) come from the kind module's
# source. The build context is assembled by vnode_harness/kind_images/node.py; FROM is the local
# debootstrap image (no registry).
ARG BASE_IMAGE=vnode/debian:bookworm
FROM ${BASE_IMAGE}
# Packages first: kind's files below replace Debian's containerd configuration and units, and a
# conffile that exists before its package is installed stops dpkg at a prompt.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      systemd containerd runc containernetworking-plugins \
      conntrack iptables nftables iproute2 ethtool util-linux mount kmod \
      libseccomp2 pigz \
      bash ca-certificates curl jq procps \
 && rm -rf /var/lib/apt/lists/*
COPY files/usr/local/bin/ /usr/local/bin/
COPY files/kind/ /kind/
COPY files/etc/ /etc/
RUN chmod 0755 /usr/local/bin/* /kind /kind/bin /kind/bin/* \
 && find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete \
 && rm -f /lib/systemd/system/multi-user.target.wants/* \
 && rm -f /etc/systemd/system/*.wants/* \
 && rm -f /lib/systemd/system/local-fs.target.wants/* \
 && rm -f /lib/systemd/system/sockets.target.wants/*udev* \
 && rm -f /lib/systemd/system/sockets.target.wants/*initctl* \
 && rm -f /lib/systemd/system/basic.target.wants/* \
 && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \
 && ln -sf /usr/lib/systemd/systemd /sbin/init \
 && ln -sf /usr/bin/containerd /usr/local/bin/containerd \
 && ln -sf /usr/bin/ctr /usr/local/bin/ctr \
 && ln -sf /usr/bin/containerd-shim-runc-v2 /usr/local/bin/containerd-shim-runc-v2 \
 && mkdir -p /usr/local/sbin /opt/cni && ln -sf /usr/sbin/runc /usr/local/sbin/runc \
 && ln -sfn /usr/lib/cni /opt/cni/bin \
 && ctr oci spec \
      | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
      | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \
 && systemctl mask systemd-binfmt.service \
 && mkdir -p /etc/kubernetes/manifests
COPY bin/ /usr/bin/
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
