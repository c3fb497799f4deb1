#!/usr/bin/env bash
# Builds the MinIO server the S3 uploader tests run against, from the Go module
# proxy at a pinned version (MinIO's tags are RELEASE.*, not semver, so the pin
# is a pseudo-version). The binary is cached outside the repo and the build is
# skipped when it is already there: a cold build takes minutes and GBs of caches.
# Tests find the binary at the same place (or through env HERON_MINIO).
set -euo pipefail
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
dir="${XDG_CACHE_HOME:-$HOME/.cache}/heronkit/servers/minio-$MINIO_VERSION"
bin="$dir/minio"
if [ -x "$bin" ]; then
	exit 0
fi
mkdir -p "$dir"
echo "minio.sh: building MinIO $MINIO_VERSION into $dir (takes a few minutes cold)" >&2
start=$(date +%s)
# Outside any module, so the project's go.mod is not touched; nice keeps the
# machine usable while it builds.
(cd "$dir" && GOFLAGS=-buildvcs=false GOBIN="$dir/.build" CGO_ENABLED=0 \
	nice -n 10 go install "github.com/minio/minio@$MINIO_VERSION")
mv "$dir/.build/minio" "$bin"
rmdir "$dir/.build" 2>/dev/null || true
echo "minio.sh: built in $(( $(date +%s) - start ))s" >&2
