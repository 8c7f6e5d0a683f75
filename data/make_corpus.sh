#!/bin/sh
# Regenerates data/kjv.txt.gz, the bundled corpus, from Debian's King James Bible.
# Needs: apt-get install bible-kjv bible-kjv-text (the text is stored compressed;
# the `bible` program prints it). Output: one verse per line, verse numbers dropped,
# book and chapter headings kept.
set -eu
cd "$(dirname "$0")"
bible gen1:1-rev22:21 |
  awk '
    /^$/              { blank = 1; next }
    /^ +[0-9]+ /      { if (verse != "") print verse; sub(/^ +[0-9]+ /, ""); verse = $0; blank = 0; next }
    blank             { if (verse != "") print verse; verse = ""; print ""; print $0; blank = 0; next }
                      { verse = verse " " $0 }
    END               { if (verse != "") print verse }
  ' |
  gzip -9n > kjv.txt.gz
echo "wrote data/kjv.txt.gz ($(wc -c < kjv.txt.gz) bytes, $(gzip -dc kjv.txt.gz | wc -c) bytes of text)"
