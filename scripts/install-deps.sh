#!/bin/sh
# install-deps.sh — install what cemrl needs from Debian's packages (run as root; idempotent).
# Skips apt entirely when every package is already installed.
set -e
PKGS="build-essential cmake pkg-config git libmujoco-dev libglfw3-dev libopenblas-dev \
libcjson-dev libcmocka-dev zlib1g-dev wordnet-base dataset-fashion-mnist \
libcairo2-dev libfontconfig-dev fonts-dejavu-core xvfb xauth libgl1-mesa-dri ffmpeg \
libopenmpi-dev openmpi-bin"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
fi
