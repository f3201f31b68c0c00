# edgio-ingress/pywai:dev: header-echo HTTP workload (the article's pywai)
# Built by e2e/scripts/build-images.sh from a context holding only the static binary (pywai) and
# etc/ (passwd, group, nsswitch.conf, the host's CA bundle): FROM scratch, so nothing is pulled and
# the image is the binary plus a few hundred KiB.
FROM scratch
LABEL org.opencontainers.image.title="pywai" \
      org.opencontainers.image.description="header-echo HTTP workload (the article's pywai)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY etc/ /etc/
COPY pywai /usr/local/bin/pywai
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/pywai"]
