# Stand-in for redis:<version>-bookworm: Debian's redis-server, run the official image's
# way (working folder /data, `redis-server` as the command, protected mode off because
# only the containers on the compose network reach it).
ARG BASE
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server redis-tools \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
# Debian's redis user has no fixed uid; the official image runs as it too.
# hadolint ignore=DL3066
USER redis
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
