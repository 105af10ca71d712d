# install-deps.sh — sourced by run-all.sh and run-demo.sh: installs the Debian
# packages that building and testing hybridmem needs, if any are missing.
#
# Checks each with dpkg -s first, so a machine that has them all is not
# touched (and needs no network); runs apt-get update once before installing.

HM_DEBIAN_PACKAGES=(
  meson ninja-build pkg-config gcc g++
  libglib2.0-dev libjansson-dev libelf-dev libdw-dev libunwind-dev
  libgtk-4-dev xvfb xauth gettext desktop-file-utils appstream-util
  heaptrack clang libclang-rt-14-dev libgc-dev
  valgrind protobuf-compiler libxml2-utils
  libjemalloc-dev libmimalloc-dev
)

hm_install_missing_packages() {
  local missing=() sudo=()

  if ! command -v dpkg >/dev/null 2>&1; then
    echo "install-deps: not a Debian system (no dpkg); install by hand: ${HM_DEBIAN_PACKAGES[*]}" >&2
    return 0
  fi
  for package in "${HM_DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "install-deps: missing ${missing[*]}; run as root or install them" >&2
      return 1
    fi
  fi
  echo "install-deps: installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}
