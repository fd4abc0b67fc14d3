# syntax=docker/dockerfile:1

# Build stage: a static binary of ./cmd/beianscan (no cgo, so it runs on distroless/static).
FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/beianscan ./cmd/beianscan
# The data directory exists in the image owned by the runtime user, so that a new named
# volume mounted on it (Docker copies the image's ownership into an empty volume) is
# writable by that user.
RUN mkdir -p /out/data && chmod 0700 /out/data

# Runtime stage: no shell, no package manager, not root (uid 65532 "nonroot").
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/beianscan /usr/local/bin/beianscan
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV BEIANSCAN_ADDR=:8080 \
    BEIANSCAN_DATA_DIR=/data
EXPOSE 8080
# No shell or curl in this image: the binary asks its own /readyz (exit 0 on 200).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/beianscan", "healthcheck"]
VOLUME /data
ENTRYPOINT ["/usr/local/bin/beianscan"]
