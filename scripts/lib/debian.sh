# Sourced by the scripts that need a Debian package (prometheus.sh, chromium.sh): one way to find a binary and
# one way to install a package, as root or with password-less sudo.

# Prints the first of the given paths that is an executable file; fails when none is.
first_executable() {
  local p
  for p in "$@"; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

# apt_install <package>: installs it without recommends, refreshing the package lists only when the first try
# fails. A package's service must not grab its port on machines with an init system: policy-rc.d answering
# 101 ("don't start") covers the install.
apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  echo "[$(basename "$0")] installing Debian's $1 package" >&2
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "$1" >&2; then
    $sudo apt-get update >&2
    $sudo apt-get install -y --no-install-recommends "$1" >&2
  fi
  [ -n "$created_policy" ] && $sudo rm -f "$policy"
  return 0
}
