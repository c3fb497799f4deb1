#!/bin/sh
# A spout: prints sentences forever, about 50 a second. Every line on stdout
# is a tuple. SENTENCES_LIMIT stops it after that many (then it exits 0, and
# a spout that exits 0 has finished: it is not restarted).
n=0
limit=${SENTENCES_LIMIT:-0}
while :; do
  for s in \
    "the cow jumped over the moon" \
    "an apple a day keeps the doctor away" \
    "four score and seven years ago" \
    "snow white and the seven dwarfs" \
    "i am at two with nature"; do
    echo "$s"
    n=$((n + 1))
    if [ "$limit" -gt 0 ] && [ "$n" -ge "$limit" ]; then
      exit 0
    fi
  done
  sleep 0.1
done
