# syntax=docker/dockerfile:1
# The one HWX image: `hwx serve <role>` for every service, `hwx migrate` for the hook Job.

# Dependencies first, in their own layer: it is rebuilt only when a manifest or the protos change.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY proto ./proto
COPY libs/rules/Cargo.toml libs/rules/
COPY libs/proto/Cargo.toml libs/proto/build.rs libs/proto/
COPY libs/platform/Cargo.toml libs/platform/
COPY libs/posting/Cargo.toml libs/posting/
COPY libs/testkit/Cargo.toml libs/testkit/
COPY services/registration/Cargo.toml services/registration/
COPY services/job-feed/Cargo.toml services/job-feed/
COPY services/seeker-matching/Cargo.toml services/seeker-matching/
COPY services/gateway/Cargo.toml services/gateway/
COPY services/hwx/Cargo.toml services/hwx/
COPY loadtests/Cargo.toml loadtests/
RUN for d in libs/rules libs/proto libs/platform libs/posting libs/testkit services/registration services/job-feed services/seeker-matching services/gateway loadtests; do \
        mkdir -p $d/src && echo '' > $d/src/lib.rs; \
    done \
    && mkdir -p services/hwx/src loadtests/src/bin \
    && echo 'fn main() {}' > services/hwx/src/main.rs && echo '' > services/hwx/src/lib.rs \
    && cargo build --release --locked -p hwx \
    && rm -rf target/release/.fingerprint/hwx-*

# Then the sources.
COPY . .
RUN touch libs/*/src/lib.rs services/*/src/lib.rs services/hwx/src/main.rs \
    && cargo build --release --locked -p hwx \
    && cp target/release/hwx /hwx

# Minimal, non-root runtime with a read-only root filesystem (the chart sets it).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /hwx /hwx
USER 65532:65532
EXPOSE 8080 50051 50052
ENTRYPOINT ["/hwx"]
CMD ["serve", "all"]
