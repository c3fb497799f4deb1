#!/usr/bin/env bash
# Builds the core package, dist/heron-core.tar.gz, that heron.package.core.uri
# points at: every container (Nomad task, local scheduler working directory)
# unpacks it as ./heron-core and runs ./heron-core/bin/heron-executor.
#
#   heron-core/bin/heron-*        the toolkit's static binaries (from bin/)
#   heron-core/conf/<cluster>/    the shipped cluster folders
#   heron-core/release.yaml       heron.build.* of this build
#
# Regular files and folders only (Nomad's artifact fetcher refuses links),
# with fixed owners and times, so the same tree gives the same archive.
#
# Usage: .ci/dist.sh [OUT]   (default dist/heron-core.tar.gz; make dist runs it
# after make build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/heron-core.tar.gz}
bin=${BIN:-bin}
if [ ! -x "$bin/heron-executor" ]; then
	echo "dist.sh: $bin/heron-executor is missing; run make build first" >&2
	exit 1
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
core="$stage/heron-core"
mkdir -p "$core/bin" "$core/conf"
for b in "$bin"/heron-*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	cp -L "$b" "$core/bin/"
done
for d in conf/*/; do
	cp -RL "$d" "$core/conf/"
done
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
cat > "$core/release.yaml" <<EOF
heron.build.version: "$version"
heron.build.time: "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
heron.build.timestamp: "$(date -u +%s)000"
heron.build.host: "heronkit"
heron.build.user: "heronkit"
EOF
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --mode='u+rwX,go+rX,go-w' \
	-C "$stage" -czf "$tmp" heron-core
mv "$tmp" "$out"
echo "dist.sh: wrote $out ($(du -h "$out" | cut -f1), $(ls "$core/bin" | wc -l) binaries)" >&2
