#!/usr/bin/env bash
# Install the Debian packages Safehold uses, if they are missing.
#   deploy/install-deps.sh PACKAGE...
# As root: apt-get installs what is missing. Otherwise: prints the exact apt-get line and returns 0,
# so `make run` still starts (the page then shows the features that need those programs as unavailable).
set -euo pipefail
missing=()
for pkg in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists when they are missing or older than a day.
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null | head -1) ]]; then
    apt-get update -qq
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Safehold would use these Debian packages, which are not installed: ${missing[*]}"
  echo "Install them as root with:"
  echo "  sudo apt-get install -y ${missing[*]}"
  echo "Starting anyway; the features that need them are shown as unavailable."
fi
