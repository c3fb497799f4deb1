#!/usr/bin/awk -f
# A bolt: counts words (one per line on stdin), prints "word count" for each,
# and every 100 words rewrites counts-<task id>.txt with the totals so far.
{
  if ($1 == "") next
  c[$1]++
  print $1, c[$1]
  fflush()
  if (++n % 100 == 0) {
    f = "counts-" ENVIRON["HERON_TASK_ID"] ".txt"
    for (w in c) print w, c[w] > f
    close(f)
  }
}
