#!/usr/bin/env bash
# Install the Debian packages SàT's demo and tests need, only those missing.
# Runs apt-get as root, or through sudo for a normal user; never prompts (CI has no stdin).
set -euo pipefail

packages=(
    dbus-daemon          # private session bus for the demo and the tests
    postgresql           # second storage backend, exercised by the storage tests
    prosody              # XMPP server the integration tests start on loopback
    lua-dbi-sqlite3      # Prosody SQL storage (keeps MAM/offline across restarts)
    lua-event
    lua-unbound
    prosody-modules      # mod_muc_moderation (XEP-0425) for the group chat tests
    ejabberd             # second XMPP server: the suites marked `ejabberd` run on both
    openssl              # throw-away test CA and certificates
    dunst                # real notification server of the sat-tray tests
    xvfb                 # the X display dunst draws on in those tests
    x11-apps             # xwd: screenshot of that display, kept as a test artefact
    desktop-file-utils   # desktop-file-validate for the installed .desktop files
)
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-system-deps: missing packages (${missing[*]}) and no root/sudo to install them" >&2
    exit 1
fi
echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# ejabberd's postinst starts the system service (epmd, ports 5222/5269/5280...): the tests run
# their own instance, so forbid service starts during the install (policy-rc.d exit 101 =
# "action forbidden", honoured by invoke-rc.d), unless the machine already has a policy.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary: written by SàT scripts/install-system-deps.sh\nexit 101\n' \
        | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 0755 "$policy"
    trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# where systemd runs, keep the system ejabberd off for good (the tests never use it)
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    "${as_root[@]}" systemctl disable --now ejabberd >/dev/null 2>&1 || true
fi
