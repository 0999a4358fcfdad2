#!/usr/bin/env bash
# Install or upgrade Safehold from this checkout as a systemd service (Debian / Raspberry Pi OS).
#
#   sudo deploy/install.sh
#
# What it does, in order (docs/deploy.md explains each place):
#  1. checks: root, systemd, Node.js >= 20.11 at /usr/bin/node, npm;
#  2. installs the Debian packages the service uses (deploy/install-deps.sh), and make;
#  3. prepares the new version in /opt/safehold.new: copies this checkout's built tree when it is
#     up to date (make -q), otherwise copies the sources and runs `make build` there; then installs
#     the runtime node_modules for this box (native better-sqlite3 for its CPU);
#  4. stops the service if running, keeps the installed version as /opt/safehold.previous, and
#     moves the new one to /opt/safehold;
#  5. creates /var/lib/safehold (mode 0700), /etc/safehold/safehold.env from the example if missing
#     (an existing one is kept), the unit /etc/systemd/system/safehold.service and the command
#     /usr/local/bin/safehold;
#  6. systemctl daemon-reload, enable --now; waits until the service answers on its local socket and
#     says where the admin page and the setup code are.
# Safe to run again: that is how an upgrade is done. Data and settings are never touched.
set -euo pipefail
umask 022

PREFIX=/opt/safehold
STAGE=$PREFIX.new
PREVIOUS=$PREFIX.previous
CONF_DIR=/etc/safehold
ENV_FILE=$CONF_DIR/safehold.env
UNIT_FILE=/etc/systemd/system/safehold.service
CLI=/usr/local/bin/safehold
NODE=/usr/bin/node
MIN_NODE=20.11.0
RUN_PACKAGES=(util-linux smartmontools restic e2fsprogs mergerfs samba attr psmisc inotify-tools)
BUILD_PACKAGES=(make)

die() {
  echo "install.sh: $*" >&2
  exit 1
}
step() { echo "==> $*"; }

case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  "") ;;
  *) die "unknown argument \"$1\" (this script takes none; see --help)" ;;
esac

# ---- 1. checks ------------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "this installs a system service and must run as root: sudo $0"
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -f $src/package.json && -f $src/deploy/safehold.service && -f $src/Makefile ]] ||
  die "$src does not look like a Safehold checkout (package.json, Makefile, deploy/safehold.service)"
[[ $src != "$STAGE" ]] || die "run me from a checkout or from $PREFIX, not from $STAGE"
if ! command -v systemctl >/dev/null || [[ ! -d /run/systemd/system ]]; then
  die "this box does not run systemd; start the service by hand instead: $PREFIX/bin/safehold serve"
fi
[[ -x $NODE ]] || die "Node.js is not installed at $NODE. Safehold needs Node.js $MIN_NODE or newer (Debian 13: apt-get install nodejs npm; Debian 12 / Raspberry Pi OS bookworm ships Node 18: install Node 20 from NodeSource or nodejs.org)."
node_version=$("$NODE" -p process.versions.node)
if [[ $(printf '%s\n%s\n' "$MIN_NODE" "$node_version" | sort -V | head -n1) != "$MIN_NODE" ]]; then
  die "$NODE is Node.js $node_version; Safehold needs $MIN_NODE or newer (Debian 12 / Raspberry Pi OS bookworm ships Node 18: install Node 20 from NodeSource or nodejs.org)."
fi
command -v npm >/dev/null || die "npm is missing (it comes with Node.js from NodeSource or nodejs.org; on Debian 13: apt-get install npm)"

# ---- 2. Debian packages ---------------------------------------------------------------------
step "Debian packages the service uses: ${RUN_PACKAGES[*]}"
bash "$src/deploy/install-deps.sh" "${RUN_PACKAGES[@]}"
step "Debian packages the install uses: ${BUILD_PACKAGES[*]}"
bash "$src/deploy/install-deps.sh" "${BUILD_PACKAGES[@]}"
command -v make >/dev/null || die "make is missing and could not be installed"

# ---- 3. the new version in $STAGE -----------------------------------------------------------
rm -rf "$STAGE"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"
copy_tree() { # copy_tree EXCLUDE... : this checkout into $STAGE, owned by root
  local excludes=(--exclude=./.git --exclude=./node_modules --exclude=./var)
  local e
  for e in "$@"; do excludes+=("--exclude=./$e"); done
  tar -C "$src" "${excludes[@]}" -cf - . | tar -C "$STAGE" --no-same-owner -xf -
}
if make -s -C "$src" -q dist/.built ui/dist/index.html 2>/dev/null; then
  step "Copying the built tree from $src"
  copy_tree
  step "Installing the runtime modules for this box (npm ci --omit=dev)"
  (cd "$STAGE" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
else
  step "Building in $STAGE (the checkout has no up-to-date build; this takes a few minutes on a Pi)"
  copy_tree dist ui/dist
  make -s -C "$STAGE" build
  step "Removing the build-only modules (npm prune --omit=dev)"
  (cd "$STAGE" && npm prune --omit=dev --no-audit --no-fund --loglevel=error)
fi
[[ -f $STAGE/dist/server/cli/main.js && -f $STAGE/ui/dist/index.html ]] || die "the build in $STAGE is incomplete"
"$NODE" -e "require('$STAGE/node_modules/better-sqlite3')(':memory:').close()" ||
  die "better-sqlite3 does not load on this box (its native part is missing for this CPU); see the npm output above"
chown -R root:root "$STAGE"

# ---- 4. swap versions -----------------------------------------------------------------------
was_active=no
if systemctl is-active --quiet safehold; then
  was_active=yes
  step "Stopping the running service"
  systemctl stop safehold
fi
if [[ -d $PREFIX ]]; then
  rm -rf "$PREVIOUS"
  mv "$PREFIX" "$PREVIOUS"
fi
mv "$STAGE" "$PREFIX"
trap - EXIT

# ---- 5. data folder, settings, unit, command ------------------------------------------------
step "Data folder, settings and unit"
install -d -m 0755 -o root -g root "$CONF_DIR"
if [[ -e $ENV_FILE ]]; then
  echo "    kept $ENV_FILE (compare it with $PREFIX/deploy/safehold.env.example for new settings)"
else
  install -m 0644 -o root -g root "$PREFIX/deploy/safehold.env.example" "$ENV_FILE"
  echo "    wrote $ENV_FILE"
fi
# The data folder as the service will see it: the unit's default, unless the settings file moves it.
# shellcheck source=/dev/null
data_dir=$(set -a && . "$ENV_FILE" && echo "${SAFEHOLD_DATA:-/var/lib/safehold}")
# shellcheck source=/dev/null
port=$(set -a && . "$ENV_FILE" && echo "${SAFEHOLD_PORT:-8080}")
install -d -m 0700 -o root -g root "$data_dir"
install -m 0644 -o root -g root "$PREFIX/deploy/safehold.service" "$UNIT_FILE"
cat >"$CLI.tmp" <<EOF
#!/bin/sh
# The command line of the installed Safehold service (written by $PREFIX/deploy/install.sh).
# It talks to the service over the local socket in the data folder, so it must run as root.
if [ -r $ENV_FILE ]; then set -a; . $ENV_FILE; set +a; fi
SAFEHOLD_DATA=\${SAFEHOLD_DATA:-/var/lib/safehold}
export SAFEHOLD_DATA
exec $PREFIX/bin/safehold "\$@"
EOF
chmod 0755 "$CLI.tmp"
mv "$CLI.tmp" "$CLI"

# ---- 6. start -------------------------------------------------------------------------------
step "Starting the service"
systemctl daemon-reload
systemctl enable --now safehold
answered=no
for _ in $(seq 1 60); do
  if "$CLI" status >/dev/null 2>&1; then
    answered=yes
    break
  fi
  sleep 0.5
done
if [[ $answered != yes ]]; then
  systemctl --no-pager status safehold || true
  journalctl --no-pager -n 30 -u safehold || true
  echo >&2
  echo "install.sh: the service did not answer within 30 s (logs above)." >&2
  [[ -d $PREVIOUS ]] && echo "To go back to the version before: systemctl stop safehold && rm -rf $PREFIX && mv $PREVIOUS $PREFIX && systemctl start safehold" >&2
  exit 1
fi

echo
echo "Safehold $(cd "$PREFIX" && "$NODE" -p "require('./package.json').version") is running$([[ $was_active == yes ]] && echo ' again') (systemctl status safehold; logs: journalctl -u safehold)."
echo "Admin page: http://$(hostname).local:$port/ $(hostname -I 2>/dev/null | awk -v p="$port" '{ for (i = 1; i <= NF; i++) if ($i !~ /:/) printf "or http://%s:%s/ ", $i, p }')"
if [[ -f $data_dir/setup-code ]]; then
  echo "Not set up yet. The one-time setup code is in $data_dir/setup-code (also in journalctl -u safehold):"
  echo "    $(cat "$data_dir/setup-code")"
fi
