#!/bin/sh
# Regenerates data/jargon.txt (the held-out text of round three) from Debian's package.
# Needs apt (downloads jargon-text without installing it).
set -eu
cd "$(dirname "$0")"
dir=$(mktemp -d)
(cd "$dir" && apt-get download jargon-text && dpkg-deb -x jargon-text_*.deb x)
gzip -dc "$dir/x/usr/share/doc/jargon-text/jargon.txt.gz" > jargon.txt
rm -rf "$dir"
echo "wrote data/jargon.txt ($(wc -c < jargon.txt) bytes, sha256 $(sha256sum jargon.txt | cut -c1-16))"
