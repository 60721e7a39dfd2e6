#!/usr/bin/env bash
# Debian packages the tests use as third-party clients: GStreamer (rtspsrc), Debian's onvif-util,
# and iproute2/util-linux for private network namespaces (multicast tests). Installed only
# when missing; without root or apt the tests that need them skip, except on CI where they fail.
set -euo pipefail
need=()
command -v gst-launch-1.0 >/dev/null 2>&1 || need+=(gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav)
command -v onvif-util >/dev/null 2>&1 || need+=(onvif-tools)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: missing system packages (${need[*]}); tests that need them will be skipped" >&2
  exit 0
fi
echo "==> installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
