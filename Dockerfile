# syntax=docker/dockerfile:1
#
# affrelay: one static binary, one image. The same image runs every role:
#   docker run IMAGE serve     HTTP API (AFFRELAY_HTTP_ADDR, default :8080)
#   docker run IMAGE worker    Temporal worker
#   docker run IMAGE migrate   database migrations, then exit
# Configuration comes from AFFRELAY_* environment variables (see docker-compose.yml).
#
# Needs BuildKit (the cache mounts below): `docker compose build` / `docker build`
# on Docker 23+ use it by default.

############################
# Build stage
############################
# Build on the builder's own platform and cross-compile for the target: no emulation
# is needed for linux/arm64 images (pure Go, CGO off; the SQLite driver is pure Go too).
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build

ARG TARGETOS
ARG TARGETARCH

# go.mod asks for go 1.26.0; the image's toolchain satisfies it. "local" makes a future
# go.mod bump fail loudly here instead of silently downloading another toolchain.
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local

WORKDIR /src

# Dependencies first, so they are fetched again only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/affrelay ./cmd/affrelay

############################
# Runtime stage
############################
# Alpine rather than distroless: the API container's health check needs an HTTP client
# (busybox wget) and affrelay has no "healthcheck" subcommand. The image stays small
# (about 10 MB plus the binary) and runs as an unprivileged user.
FROM alpine:3.23

# ca-certificates: outbound HTTPS postbacks and webhooks.
# tzdata: time zones for schedules and reports (time.LoadLocation).
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 affrelay \
 && adduser -S -D -H -u 10001 -G affrelay -h /var/lib/affrelay affrelay \
 && mkdir -p /var/lib/affrelay \
 && chown affrelay:affrelay /var/lib/affrelay

COPY --from=build /out/affrelay /affrelay

# Writable working directory for the unprivileged user (only the embedded SQLite
# mode writes files; production uses PostgreSQL).
WORKDIR /var/lib/affrelay
USER 10001:10001

ENV AFFRELAY_HTTP_ADDR=:8080
EXPOSE 8080

# No HEALTHCHECK here: the image also runs the worker and the one-shot migrate, which
# serve no /healthz. docker-compose.yml gives the API service its own health check.
ENTRYPOINT ["/affrelay"]
CMD ["serve"]
