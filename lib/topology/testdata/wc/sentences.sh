#!/bin/sh
while :; do echo "the cow jumped over the moon"; sleep 1; done
