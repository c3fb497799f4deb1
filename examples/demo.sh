#!/bin/sh
# The word count of examples/wordcount on the local cluster: submit it, let it
# run, show what the count bolts counted, deactivate and activate it, kill it.
# Run through `make demo` (which builds bin/ first). Everything lives in a
# temporary HOME, removed at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PATH="$here/../bin:$PATH"
export PATH
HOME=$(mktemp -d)
export HOME
trap 'heron-submit kill local WordCount >/dev/null 2>&1 || true; rm -rf "$HOME"' EXIT

echo "# submit"
heron-submit submit local "$here/wordcount/wordcount.yaml"
echo "# running for 10 seconds"
sleep 10
echo "# counts so far (count.awk rewrites counts-<task>.txt every 100 words)"
find "$HOME/.herondata/topologies" -name 'counts-*.txt' -exec cat {} + | sort -k2 -n -r | head -10
echo "# deactivate, activate"
heron-submit deactivate local WordCount
heron-submit activate local WordCount
echo "# kill"
heron-submit kill local WordCount
