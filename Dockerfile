# Production image: build in the Rust image, run on a slim Debian with OpenSSL (josekit).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin gatehouse

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 gatehouse
WORKDIR /app
COPY --from=build /src/target/release/gatehouse /usr/local/bin/gatehouse
COPY config ./config
COPY static ./static
USER gatehouse
ENV GATEHOUSE_CONFIG=/app/config/production.toml
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
