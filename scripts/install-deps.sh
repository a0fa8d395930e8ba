#!/bin/sh
# Installs everything rpu needs to build, test and run on Debian 12 (as root).
# This is the project's one list of system dependencies: README's Quick start
# and .ci/run both call it.
set -eu
PACKAGES="
  build-essential g++ autoconf automake libtool pkg-config
  libltdl-dev libopenblas-dev libjson-c-dev check zlib1g-dev
  python3 valgrind
  dataset-fashion-mnist
"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get install needs it)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES
