# Stand-in for prom/prometheus:<version>: Debian bookworm's prometheus package, run the
# official image's way (entrypoint /bin/prometheus, the same default flags, data in
# /prometheus, user nobody). Debian's Prometheus is 2.42, not the tag's version: the lab's
# scrape configuration, rules and HTTP API calls are ones both versions read alike.
ARG BASE
FROM ${BASE}
# The package's service is not started (no init system runs in a build); /bin is /usr/bin
# under Debian's merged /usr, so /bin/prometheus is the packaged binary.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends prometheus \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /prometheus /usr/share/prometheus/console_libraries \
        /usr/share/prometheus/consoles \
    && chown nobody:nogroup /prometheus \
    && /bin/prometheus --version
USER nobody
EXPOSE 9090
VOLUME /prometheus
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", \
     "--storage.tsdb.path=/prometheus", \
     "--web.console.libraries=/usr/share/prometheus/console_libraries", \
     "--web.console.templates=/usr/share/prometheus/consoles"]
