#!/bin/sh
# make demo: run the word count of examples/wordcount on the local cluster,
# with a tracker and the web UI over it, and leave them running.
#
#   examples/demo.sh          submit the word count (unless it runs), wait for
#                             its physical plan, start heron-tracker (:8888) and
#                             heron-ui (:8889), and print how to watch it all
#   examples/demo.sh --stop   kill the word count, stop the tracker and the UI
#
# `make demo` builds bin/ first; this script puts bin/ on PATH. State and
# packages go where Heron keeps them: ~/.herondata. The tracker's and UI's
# pids and logs go to ~/.herondata/demo/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PATH="$here/../bin:$PATH"
export PATH
topology=WordCount
tracker_port=${HERON_DEMO_TRACKER_PORT:-8888}
ui_port=${HERON_DEMO_UI_PORT:-8889}
run="$HOME/.herondata/demo"

for tool in heron-submit heron-executor heron-statemgr heron-tracker heron-ui; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "demo: $tool not found in $here/../bin; run make build" >&2
		exit 1
	fi
done

# stop NAME: stop a daemon this script started, by the pid it recorded.
stop() {
	if [ -f "$run/$1.pid" ]; then
		pid=$(cat "$run/$1.pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			echo "# stopped $1 (pid $pid)"
		fi
		rm -f "$run/$1.pid"
	fi
}

# start NAME ARGS...: start a daemon in the background unless it runs, and
# wait until it has printed the JSON line that says where it listens.
start() {
	name=$1
	shift
	if [ -f "$run/$name.pid" ] && kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
		return 0
	fi
	"$@" >"$run/$name.out" 2>"$run/$name.log" &
	echo $! >"$run/$name.pid"
	tries=0
	until grep -q '"url"' "$run/$name.out" 2>/dev/null; do
		tries=$((tries + 1))
		if [ "$tries" -gt 100 ] || ! kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
			echo "demo: $name did not start; see $run/$name.log" >&2
			tail -n 5 "$run/$name.log" >&2 || true
			exit 1
		fi
		sleep 0.1
	done
}

if [ "${1:-}" = "--stop" ]; then
	stop heron-ui
	stop heron-tracker
	if heron-submit list local | grep -q "\"name\":\"$topology\""; then
		heron-submit kill local "$topology"
	fi
	exit 0
fi

mkdir -p "$run"
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

echo "# starting heron-tracker on :$tracker_port and heron-ui on :$ui_port"
start heron-tracker heron-tracker --type file --name local \
	--rootpath "$HOME/.herondata/repository/state/local" --bind 127.0.0.1 --port "$tracker_port"
start heron-ui heron-ui --tracker-url "http://127.0.0.1:$tracker_port" --bind 127.0.0.1 --port "$ui_port"

user=$(id -un)
cat <<EOF
# $topology is running. Watch it:

  open http://127.0.0.1:$ui_port/topologies     # the web UI
  curl -s 'http://127.0.0.1:$tracker_port/topologies/physicalplan?cluster=local&environ=default&topology=$topology'

  heron-submit list local
  heron-statemgr --cluster local get pplan $topology
  heron-statemgr --cluster local watch pplan $topology
  ls ~/.herondata/topologies/local/$user/$topology/      # logs, counts-<task>.txt

  # change it:
  heron-submit deactivate local $topology
  heron-submit activate local $topology
  heron-submit update local $topology --component-parallelism count:3
  heron-submit restart local $topology --container 1

Stop everything with: $0 --stop
EOF
