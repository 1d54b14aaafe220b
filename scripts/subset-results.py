#!/usr/bin/env python3
"""subset-results.py LIST SOURCE_TSV OUT_TSV — the results of a Tempest list taken from a
run of a larger list that contains it (interop-network is a subset of api-network): the
tests of SOURCE_TSV (run-tempest's per-test results) whose ids match LIST's regexes, written
to OUT_TSV, and the harness's summary line "N passed, N failed, N skipped". A test of LIST
missing from the source run counts as failed, so a subset can never look better than a run.
"""
import re
import sys

list_file, source, out = sys.argv[1:4]
patterns = []
for line in open(list_file, encoding="utf-8"):
    line = line.split("  #")[0].strip()
    if line and not line.startswith("#"):
        patterns.append(re.compile(line))

rows = []
for line in open(source, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    test_id = line.split("\t", 1)[0]
    if any(p.search(test_id) for p in patterns):
        rows.append(line.rstrip("\n"))

status = [r.split("\t")[1] if "\t" in r else "fail" for r in rows]
passed = sum(s in ("success", "xfail") for s in status)
skipped = sum(s == "skip" for s in status)
failed = len(status) - passed - skipped
# every regex of the list must have matched something in the run
unmatched = [p.pattern for p in patterns if not any(p.search(r.split("\t", 1)[0]) for r in rows)]
failed += len(unmatched)
with open(out, "w", encoding="utf-8") as f:
    f.write("# test_id\tstatus\treason  (taken from %s)\n" % source)
    for r in rows:
        f.write(r + "\n")
    for u in unmatched:
        f.write("%s\tfail\tnot in the source run\n" % u)
print("%d of the list's tests in %s" % (len(rows), source))
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
