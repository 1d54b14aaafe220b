#!/usr/bin/env python3
"""subset-results.py LIST OUT_TSV SOURCE_TSV... — the results of a Tempest list taken from
runs of larger lists that contain it (interop-network is a subset of api-network;
interop-compute is a subset of api-compute on the fake driver plus the validation run on real
guests): the tests of the SOURCE_TSVs (run-tempest's per-test results) whose ids match
LIST's regexes, written to OUT_TSV, and the harness's summary line
"N passed, N failed, N skipped".

A test that several runs report counts once: failed if any run failed it, else passed if
any run passed it, else skipped. A test of LIST missing from every run counts as failed, so
a subset can never look better than its runs.
"""
import re
import sys

list_file, out, *sources = sys.argv[1:]
if not sources:
    sys.exit("usage: subset-results.py LIST OUT_TSV SOURCE_TSV...")
patterns = []
for line in open(list_file, encoding="utf-8"):
    line = line.split("  #")[0].strip()
    if line and not line.startswith("#"):
        patterns.append(re.compile(line))

PASSED = ("success", "xfail")
rank = lambda status: 0 if status == "skip" else 1 if status in PASSED else 2
rows = {}  # test id -> (status, line)
for source in sources:
    for line in open(source, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        test_id, status = fields[0], fields[1] if len(fields) > 1 else "fail"
        if not any(p.search(test_id) for p in patterns):
            continue
        if test_id not in rows or rank(status) > rank(rows[test_id][0]):
            rows[test_id] = (status, line.rstrip("\n"))

status = [s for s, _ in rows.values()]
passed = sum(s in PASSED for s in status)
skipped = sum(s == "skip" for s in status)
failed = len(status) - passed - skipped
# every regex of the list must have matched something in the runs
unmatched = [p.pattern for p in patterns if not any(p.search(t) for t in rows)]
failed += len(unmatched)
with open(out, "w", encoding="utf-8") as f:
    f.write("# test_id\tstatus\treason  (taken from %s)\n" % ", ".join(sources))
    for _, line in rows.values():
        f.write(line + "\n")
    for u in unmatched:
        f.write("%s\tfail\tnot in the source runs\n" % u)
print("%d of the list's tests in %s" % (len(rows), ", ".join(sources)))
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
