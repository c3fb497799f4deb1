#!/usr/bin/env bash
# Regenerates the Go code for our Heron-compatible .proto files into OUT
# (default: this folder). Used by `make gen` and by the staleness test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
plugin=${PROTOC_GEN_GO:-$here/../../bin/tools/protoc-gen-go}
if [ ! -x "$plugin" ]; then
	mkdir -p "$(dirname "$plugin")"
	(cd "$here" && go build -o "$plugin" google.golang.org/protobuf/cmd/protoc-gen-go)
fi
mkdir -p "$out"
cd "$here"
protoc --plugin=protoc-gen-go="$plugin" -I . \
	--go_out="$out" --go_opt=module=github.com/heronkit/heronkit/lib/proto \
	topology.proto common.proto physical_plan.proto packing_plan.proto \
	execution_state.proto scheduler.proto ckptmgr.proto tmanager.proto
