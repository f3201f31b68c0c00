# edgio-ingress/vultr-mock:dev: mock Vultr DNS API and DNS server
# Built by e2e/scripts/build-images.sh from a context holding only the static binary (vultr-mock) and
# etc/ (passwd, group, nsswitch.conf, the host's CA bundle): FROM scratch, so nothing is pulled and
# the image is the binary plus a few hundred KiB.
FROM scratch
LABEL org.opencontainers.image.title="vultr-mock" \
      org.opencontainers.image.description="mock Vultr DNS API and DNS server" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY etc/ /etc/
COPY vultr-mock /usr/local/bin/vultr-mock
USER 65532:65532
EXPOSE 8090 5353/udp 5353/tcp
ENTRYPOINT ["/usr/local/bin/vultr-mock"]
