# edgio-ingress/controller:dev: edgio-ingress Kubernetes Ingress controller for the Edgio Delivery CDN
# Built by e2e/scripts/build-images.sh from a context holding only the static binary (edgio-ingress) and
# etc/ (passwd, group, nsswitch.conf, the host's CA bundle): FROM scratch, so nothing is pulled and
# the image is the binary plus a few hundred KiB.
FROM scratch
LABEL org.opencontainers.image.title="controller" \
      org.opencontainers.image.description="edgio-ingress Kubernetes Ingress controller for the Edgio Delivery CDN" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY etc/ /etc/
COPY edgio-ingress /usr/local/bin/edgio-ingress
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/edgio-ingress"]
