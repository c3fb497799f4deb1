#!/usr/bin/env bash
# Builds the Nomad agent the Nomad scheduler tests run against, from the Go
# module proxy at a pinned version. Nomad's go.mod replaces its nested `api`
# module with ./api and the module zip leaves that directory out, so
# `go install nomad@version` cannot work: download the module, copy it
# somewhere writable, put the api module of the same commit (a pseudo-version)
# in api/, and build inside the copy. The binary is cached outside the repo and
# the build is skipped when it is already there (a cold build takes minutes).
# Tests find the binary at the same place (or through env HERON_NOMAD).
set -euo pipefail
NOMAD_VERSION=v1.9.3
# The api module at the commit v1.9.3 was tagged from.
NOMAD_API_VERSION=v0.0.0-20241111163541-d92bf1014886
dir="${XDG_CACHE_HOME:-$HOME/.cache}/heronkit/servers/nomad-$NOMAD_VERSION"
bin="$dir/nomad"
if [ -x "$bin" ]; then
	exit 0
fi
mkdir -p "$dir"
echo "nomad.sh: building Nomad $NOMAD_VERSION into $dir (takes a few minutes cold)" >&2
start=$(date +%s)
export GOFLAGS="-modcacherw -buildvcs=false"
modcache=$(go env GOMODCACHE)
src="$dir/.src"
rm -rf "$src"
# Outside any module, so the project's go.mod is not touched.
(cd "$dir" && go mod download "github.com/hashicorp/nomad@$NOMAD_VERSION" \
	&& go mod download "github.com/hashicorp/nomad/api@$NOMAD_API_VERSION")
cp -r "$modcache/github.com/hashicorp/nomad@$NOMAD_VERSION" "$src"
chmod -R u+w "$src"
rm -rf "$src/api"
cp -r "$modcache/github.com/hashicorp/nomad/api@$NOMAD_API_VERSION" "$src/api"
chmod -R u+w "$src/api"
# cgo as upstream builds it when a C compiler is there (the Makefile exports
# CGO_ENABLED=0 for our own binaries); nice keeps the shared machine usable.
cgo=0; command -v gcc >/dev/null && cgo=1
(cd "$src" && CGO_ENABLED=$cgo nice -n 10 go build -o "$dir/.nomad.tmp" .)
mv "$dir/.nomad.tmp" "$bin"
rm -rf "$src"
echo "nomad.sh: built $("$bin" version | head -1) in $(( $(date +%s) - start ))s" >&2
