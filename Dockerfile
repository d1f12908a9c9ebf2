# streambot in an empty image: the static musl binary for the image's architecture, copied from
# dist/ as scripts/build-release.sh leaves it, and nothing else.
#
#   scripts/build-release.sh
#   docker build -t streambot .                     # this machine's architecture (amd64 by default)
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 -t you/streambot .
#
# No CA bundle: the binary carries Mozilla's roots (webpki-roots) for api.telegram.org. A local
# Bot API server behind TLS with a private CA, or a TLS-inspecting proxy, is added with
# TELEGRAM_CA_FILE (mount the PEM file). No libc, no shell, no curl: the health check is the
# binary itself (`--healthcheck` asks its own /health).
FROM scratch

# Set by BuildKit/buildx per platform: amd64, arm64, arm + v7. The classic builder sets nothing,
# hence the default.
ARG TARGETARCH=amd64
ARG TARGETVARIANT=
COPY dist/streambot-linux-${TARGETARCH}${TARGETVARIANT} /streambot
# The unprivileged user (and group) streambot runs as. docker-compose.yml builds with 101, the
# user of the aiogram/telegram-bot-api image, whose server writes its files 0600 in 0700
# directories: only that uid can read them. A build argument, not an environment variable.
ARG STREAMBOT_UID=10001
# An empty /data owned by that user, so a new named volume starts writable (Docker copies the
# image's ownership into it). A bind mount keeps the host's: chown it to the same uid.
COPY --chown=${STREAMBOT_UID}:${STREAMBOT_UID} dist/rootfs/ /

USER ${STREAMBOT_UID}:${STREAMBOT_UID}
ENV DATA_DIR=/data \
    BIND_ADDRESS=0.0.0.0 \
    PORT=8080
VOLUME /data
EXPOSE 8080
# /health is 200 once the bot has logged in to Telegram (503 while it retries getMe).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["/streambot", "--healthcheck"]
ENTRYPOINT ["/streambot"]
