# edgio-ingress/kube-local:dev: single-process Kubernetes API server for tests
# Built by e2e/scripts/build-images.sh from a context holding only the static binary (kube-local) and
# etc/ (passwd, group, nsswitch.conf, the host's CA bundle): FROM scratch, so nothing is pulled and
# the image is the binary plus a few hundred KiB.
FROM scratch
LABEL org.opencontainers.image.title="kube-local" \
      org.opencontainers.image.description="single-process Kubernetes API server for tests" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY etc/ /etc/
COPY kube-local /usr/local/bin/kube-local
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kube-local"]
