#!/bin/sh
# A build stage: compile, run the unit tests, install the artifact where the next stage takes it.
set -eu
cd /src
make
make check
make install PREFIX=/out
make clean
