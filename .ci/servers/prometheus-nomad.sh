#!/usr/bin/env bash
# Builds a Prometheus with Nomad service discovery for the test that checks
# Prometheus finds a topology's containers on Nomad
# (testscripts/heron-submit-nomad-prometheus.txtar). Debian's prometheus
# package (used by the sink tests) is built without nomad_sd_configs and
# consul_sd_configs. The build is from the Go module proxy at a pinned
# version (Prometheus 3.9.1 is the module's v0.309.1), in a writable copy
# whose plugins/plugins.go registers only the nomad discoverer (Prometheus's
# supported way to trim discoverers; file and http stay, in minimum.go), so
# the cloud SDKs are not compiled. The binary is cached outside the repo and
# the build is skipped when it is already there. Tests find it at the same
# place (or through env HERON_PROMETHEUS_NOMAD).
set -euo pipefail
PROMETHEUS_MODULE_VERSION=v0.309.1
dir="${XDG_CACHE_HOME:-$HOME/.cache}/heronkit/servers/prometheus-nomad-$PROMETHEUS_MODULE_VERSION"
bin="$dir/prometheus"
if [ -x "$bin" ]; then
	exit 0
fi
mkdir -p "$dir"
echo "prometheus-nomad.sh: building Prometheus $PROMETHEUS_MODULE_VERSION with Nomad SD into $dir" >&2
start=$(date +%s)
export GOFLAGS="-modcacherw -buildvcs=false"
modcache=$(go env GOMODCACHE)
src="$dir/.src"
rm -rf "$src"
# Outside any module, so the project's go.mod is not touched.
(cd "$dir" && go mod download "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION")
cp -r "$modcache/github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" "$src"
chmod -R u+w "$src"
cat > "$src/plugins/plugins.go" <<'GO'
package plugins

import (
	_ "github.com/prometheus/prometheus/discovery/nomad" // Register nomad plugin.
)
GO
(cd "$src" && CGO_ENABLED=0 nice -n 10 go build -o "$dir/.prometheus.tmp" \
	-ldflags "-X github.com/prometheus/common/version.Version=$(cat VERSION)" ./cmd/prometheus)
mv "$dir/.prometheus.tmp" "$bin"
rm -rf "$src"
echo "prometheus-nomad.sh: built $("$bin" --version 2>&1 | head -1) in $(( $(date +%s) - start ))s" >&2
