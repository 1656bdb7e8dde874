# Stand-in for gcr.io/distroless/cc-debian12:nonroot: the C runtime and nothing else (no
# shell, no package manager), a `nonroot` user with uid 65532, and a world-writable /tmp.
# Context: ca-certificates.crt.
ARG BASE
FROM ${BASE} AS tree
COPY ca-certificates.crt /tree/etc/ssl/certs/ca-certificates.crt
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The packages' files (folders come with them; what the base image left out is skipped),
# under Debian's merged /usr: /lib and /lib64 are links into /usr.
RUN mkdir -p /tree/usr/lib /tree/usr/lib64 \
    && ln -s usr/lib /tree/lib && ln -s usr/lib64 /tree/lib64 \
    && dpkg -L libc6 libgcc-s1 \
    | while read -r path; do \
        if [ -d "$path" ] || [ ! -e "$path" ]; then continue; fi; \
        cp -a --parents "$path" /tree || exit 1; \
      done \
    && rm -rf /tree/usr/share/doc /tree/usr/share/lintian \
    && mkdir -p /tree/tmp /tree/home/nonroot /tree/root \
    && chmod 1777 /tree/tmp \
    && chown 65532:65532 /tree/home/nonroot \
    && printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /tree/etc/passwd \
    && printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' > /tree/etc/group \
    && cp /etc/os-release /tree/etc/os-release

FROM scratch
COPY --from=tree /tree/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532
WORKDIR /home/nonroot
