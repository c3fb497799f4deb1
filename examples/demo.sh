#!/bin/sh
# make demo: run the word count of examples/wordcount on the local cluster
# and leave it running.
#
#   examples/demo.sh          submit it (unless it runs), wait for its physical
#                             plan, and print how to watch it
#   examples/demo.sh --stop   kill it
#
# `make demo` builds bin/ first; this script puts bin/ on PATH. State and
# packages go where Heron keeps them: ~/.herondata.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PATH="$here/../bin:$PATH"
export PATH
topology=WordCount

for tool in heron-submit heron-executor heron-statemgr; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "demo: $tool not found in $here/../bin; run make build" >&2
		exit 1
	fi
done

if [ "${1:-}" = "--stop" ]; then
	heron-submit kill local "$topology"
	exit 0
fi

if heron-submit list local | grep -q "\"name\":\"$topology\""; then
	echo "# $topology already runs on the local cluster (stop it with: $0 --stop)"
else
	echo "# submitting examples/wordcount/wordcount.yaml to the local cluster"
	heron-submit submit local "$here/wordcount/wordcount.yaml"
fi

echo "# waiting for the physical plan"
tries=0
until heron-statemgr --cluster local get pplan "$topology" >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ "$tries" -gt 120 ]; then
		echo "demo: no physical plan after 60 s; see the logs in ~/.herondata/topologies/local/*/$topology/" >&2
		exit 1
	fi
	sleep 0.5
done

user=$(id -un)
cat <<EOF
# $topology is running. Watch it:

  heron-submit list local
  heron-statemgr --cluster local get pplan $topology | jq .
  heron-statemgr --cluster local watch pplan $topology
  ls ~/.herondata/topologies/local/$user/$topology/      # logs, counts-<task>.txt

  # the tracker (REST, Heron's API) and the UI on top of it:
  heron-tracker --type file --name local --rootpath ~/.herondata/repository/state/local --port 8888 &
  curl -s 'http://127.0.0.1:8888/topologies/physicalplan?cluster=local&environ=default&topology=$topology' | jq .
  heron-ui --tracker-url http://127.0.0.1:8888 &          # then open the URL it prints

  # change it:
  heron-submit deactivate local $topology
  heron-submit activate local $topology
  heron-submit update local $topology --component-parallelism count:3
  heron-submit restart local $topology --container 1

Stop it with: $0 --stop   (or: heron-submit kill local $topology)
EOF
