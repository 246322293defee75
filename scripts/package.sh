#!/usr/bin/env bash
# Builds the packages (docs/packaging.md): a .deb for this Debian release and a relocatable
# .tar.gz, in <build>/packages:
#   readyscope_<version>_<arch>.deb   readyscope-<version>-linux-<arch>.tar.gz
# Installs what is missing first (scripts/deps.sh: the compiler, Qt, rsvg-convert and help2man
# for the icons and man page, dpkg-dev and file for cpack's DEB dependencies).
#
# By default it configures the release preset (build/release) and builds only what the packages
# hold: the readyscope binary, its icons and man page; the test suites are not built.
# READY_PACKAGE_BUILD=<dir> packages a tree that is already configured and built instead (any
# preset without sanitizers; cpack strips the binary): .ci/run packages its dev build this way.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/deps.sh

build=${READY_PACKAGE_BUILD:-}
if [ -z "$build" ]; then
  build=build/release
  cmake --preset release --log-level=WARNING
elif [ ! -f "$build/CPackConfig.cmake" ]; then
  echo "package: $build is not a configured ReadyScope build (no CPackConfig.cmake)" >&2
  exit 2
fi
# Only what the packages hold: cpack's install step does not build the rest
# (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY, top-level CMakeLists.txt).
cmake --build "$build" -j "$(nproc)" --target readyscope readyscope_man readyscope_changelog

rm -rf "$build/packages"
cpack --config "$build/CPackConfig.cmake" -B "$build/packages"
rm -rf "$build/packages/_CPack_Packages"  # cpack's staging trees
ls -l "$build"/packages/readyscope_*.deb "$build"/packages/readyscope-*.tar.gz
