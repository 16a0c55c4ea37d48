# syntax=docker/dockerfile:1.7
#
# linkerd-mcp container image: a `deno compile`d binary on distroless cc (glibc +
# libgcc; a Deno binary does not run on distroless/static), non-root, no shell,
# read-only root file system friendly.
#
#   stdio (Claude Desktop, local):
#     docker run -i --rm -v "$HOME/.kube/config:/home/nonroot/.kube/config:ro" \
#       ghcr.io/linkerd-mcp/linkerd-mcp
#     (kubeconfigs that use exec credential plugins need the plugin in the image: use a
#      static token or client-certificate kubeconfig instead)
#   HTTP (in-cluster; the Helm chart runs exactly this):
#     linkerd-mcp --http 0.0.0.0:8080 --http-token-file /var/run/secrets/linkerd-mcp/token
#     or -e LINKERD_MCP_HTTP_TOKEN=... instead of the token file.
#
# Build: docker buildx build --platform linux/amd64,linux/arm64 -t linkerd-mcp .
# The build stage cross-compiles for the target platform on the build platform, so
# no emulation is needed. Permission flags are NOT listed here: `deno task compile`
# takes them from `deno task start` in deno.json (scripts/permissions.ts), the one
# place they are defined.
# Unverified: docker cannot run where this file was written.

ARG DENO_VERSION=2.9.6

FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS build
ARG DENO_VERSION
ARG TARGETARCH
# The npm "deno" package ships the Deno CLI for the build platform.
RUN npm install --global "deno@${DENO_VERSION}" && deno --version
ENV DENO_DIR=/deno-dir DENO_NO_UPDATE_CHECK=1
WORKDIR /src
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src ./src
COPY scripts ./scripts
# Resolve dependencies from the lock file only (fails if deno.lock is out of date).
RUN deno install --frozen --entrypoint main.ts
RUN case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported TARGETARCH: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && deno task compile --target "$target" \
 && mkdir -p /out && cp "dist/linkerd-mcp-$target" /out/linkerd-mcp

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="linkerd-mcp" \
      org.opencontainers.image.description="Read-only Model Context Protocol server for the Linkerd service mesh" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/linkerd-mcp/linkerd-mcp"
COPY --from=build --chown=0:0 --chmod=0555 /out/linkerd-mcp /usr/local/bin/linkerd-mcp
ENV HOME=/home/nonroot
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/linkerd-mcp"]
# No arguments: MCP over stdio (`docker run -i`). In-cluster: pass
#   --http 0.0.0.0:8080 --http-token-file /var/run/secrets/linkerd-mcp/token
CMD []
