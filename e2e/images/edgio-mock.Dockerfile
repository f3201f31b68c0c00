# edgio-ingress/edgio-mock:dev: mock Edgio Config API and CDN edge
# Built by e2e/scripts/build-images.sh from a context holding only the static binary (edgio-mock) and
# etc/ (passwd, group, nsswitch.conf, the host's CA bundle): FROM scratch, so nothing is pulled and
# the image is the binary plus a few hundred KiB.
FROM scratch
LABEL org.opencontainers.image.title="edgio-mock" \
      org.opencontainers.image.description="mock Edgio Config API and CDN edge" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY etc/ /etc/
COPY edgio-mock /usr/local/bin/edgio-mock
USER 65532:65532
EXPOSE 8081 8082
ENTRYPOINT ["/usr/local/bin/edgio-mock"]
