#!/bin/sh
# Like the official image's entrypoint: options alone mean redis-server with them, and
# protected mode is off unless a configuration file says otherwise.
set -e
if [ "${1#-}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "${2%.conf}" = "${2:-}" ]; then
    shift
    set -- redis-server --protected-mode no "$@"
fi
exec "$@"
