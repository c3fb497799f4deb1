#!/usr/bin/env python3
"""A JSON-mode bolt: counts words, acks them, publishes a custom metric and
rewrites tally-<task>.txt every 50 words."""
import json
import os
import sys

counts = {}
seen = 0
out = "tally-%s.txt" % os.environ.get("HERON_TASK_ID", "0")
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("type") != "tuple":
        continue
    word = msg["values"][0]
    counts[word] = counts.get(word, 0) + 1
    seen += 1
    if "id" in msg:
        sys.stdout.write(json.dumps({"ack": msg["id"]}) + "\n")
    sys.stdout.write(json.dumps({"metric": "words-tallied", "value": 1}) + "\n")
    sys.stdout.flush()
    if seen % 50 == 0:
        with open(out + ".tmp", "w") as f:
            for w in sorted(counts):
                f.write("%s %d\n" % (w, counts[w]))
        os.replace(out + ".tmp", out)
