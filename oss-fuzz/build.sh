#!/bin/bash -eu
# OSS-Fuzz entry: the same build as ClusterFuzzLite's, kept in one place.
exec "$SRC/bpfconform/.clusterfuzzlite/build.sh"
