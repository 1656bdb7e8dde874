# Stand-in for rust:<version>-slim-bookworm: Debian bookworm, a C toolchain for linking,
# and the Rust toolchain of the machine running the lab.
# Context: toolchain/ (the toolchain's bin/ and lib/) and ca-certificates.crt.
ARG BASE
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY toolchain/ /usr/local/rustup/toolchain/
# Where the official image has them: cargo's home, with its bin/ on the PATH.
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin \
    && ln -s /usr/local/rustup/toolchain/bin/* /usr/local/cargo/bin/ \
    && cargo --version && rustc --version
