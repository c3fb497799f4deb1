#!/usr/bin/awk -f
{ n[$1]++; print $1, n[$1] }
