"""Checks a `porter bench` report (server/ci.sh): both files written, every workload did work,
no operation failed, the limits were measured. Figures are not judged: this is a smoke run."""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
report = json.loads((out / "bench.json").read_text())
markdown = (out / "bench.md").read_text()
assert "## Server throughput" in markdown, "bench.md lacks its section"
names = [w["name"] for w in report["workloads"]]
assert names == ["grants", "audit", "http_ceiling"], names
for w in report["workloads"]:
    assert w["ok"] > 0, f"{w['name']}: no operation succeeded"
    assert not w["errors"], f"{w['name']}: errors {w['errors']}"
assert report["unexpected_errors"] == 0, report["unexpected_errors"]
limits = report["limits"]
for name in ("signing_grants_per_second", "backend_commits_per_second", "http_requests_per_second"):
    assert limits[name] and limits[name] > 0, f"limit {name} not measured"
done = ", ".join(f"{w['name']} {w['ok']} ok" for w in report["workloads"])
print(f"bench smoke on {report['backend']}: {done}, 0 errors")
