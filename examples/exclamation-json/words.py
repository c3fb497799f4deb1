#!/usr/bin/env python3
"""A JSON-mode spout: emits words with message ids and replays failed ones.

WORDS_LIMIT (default: no limit) stops it after that many distinct messages
are acked; it then reports on stderr and exits 0 (finished)."""
import json
import os
import random
import select
import sys
import time

WORDS = ["nathan", "mike", "jackson", "golda", "bertels"]
limit = int(os.environ.get("WORDS_LIMIT", "0"))
pending = {}
next_id = 0
acked = failed = 0


def emit(msg_id, word):
    sys.stdout.write(json.dumps({"emit": [word], "id": msg_id}) + "\n")
    sys.stdout.flush()


buf = b""
while True:
    if (not limit or next_id < limit) and len(pending) < 100:
        next_id += 1
        pending[next_id] = random.choice(WORDS)
        emit(next_id, pending[next_id])
    ready, _, _ = select.select([0], [], [], 0 if len(pending) < 100 else 0.1)
    if ready:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            msg = json.loads(line)
            if msg.get("type") == "ack" and msg["id"] in pending:
                del pending[msg["id"]]
                acked += 1
            elif msg.get("type") == "fail" and msg["id"] in pending:
                failed += 1
                sys.stdout.write(json.dumps({"log": "replaying message %d" % msg["id"]}) + "\n")
                emit(msg["id"], pending[msg["id"]])
    if limit and next_id >= limit and not pending:
        print("acked %d messages, replayed %d failures" % (acked, failed), file=sys.stderr)
        sys.exit(0)
    if not ready and not limit:
        time.sleep(0.01)
