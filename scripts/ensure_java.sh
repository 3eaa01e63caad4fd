#!/usr/bin/env bash
# Make sure a Java 17+ runtime is present for the Spark backend; install it on Debian/Ubuntu.
set -euo pipefail
have_java() {
  command -v java >/dev/null 2>&1 || return 1
  local version
  version=$(java -version 2>&1 | awk -F'"' '/version/ {print $2}' | cut -d. -f1)
  [ -n "$version" ] && [ "$version" -ge 17 ]
}
if have_java; then
  exit 0
fi
echo "Java 17+ not found: installing openjdk-17-jre-headless (for the Spark backend)" >&2
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq openjdk-17-jre-headless >/dev/null
have_java || { echo "Java 17+ is still missing; install it and retry" >&2; exit 1; }
