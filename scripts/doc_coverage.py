#!/usr/bin/env python3
"""Public symbols without documentation, from the symbol graphs scripts/docs.sh extracts.

  doc_coverage.py GRAPH.symbols.json ...   prints each undocumented public symbol (module, kind,
                                           path, source file:line) and a count; exit 1 when any.
A symbol counts as documented when it has a doc comment of its own, or inherits one from the
protocol requirement it implements (DocC shows that: the graph's "sourceOrigin"). Symbols the
compiler synthesizes (Equatable's ==, Codable's init(from:), ...) are not in the source and are
not counted.
"""
import json
import sys

missing = []
total = 0
for path in sys.argv[1:]:
    graph = json.load(open(path))
    module = graph["module"]["name"]
    for s in graph["symbols"]:
        if s.get("accessLevel") not in ("public", "open"):
            continue
        if "::SYNTHESIZED::" in s["identifier"]["precise"]:
            continue
        total += 1
        doc = s.get("docComment", {}).get("lines", [])
        if any(line.get("text", "").strip() for line in doc) or "sourceOrigin" in s:
            continue
        where = s.get("location", {})
        file = where.get("uri", "").split("/Sources/")[-1]
        line = where.get("position", {}).get("line", -1) + 1
        missing.append("%s\t%s\t%s\t%s:%d" % (module, s["kind"]["identifier"].replace("swift.", ""),
                                               ".".join(s["pathComponents"]), file, line))
for m in sorted(missing, key=lambda m: m.split("\t")[3]):
    print(m)
print("doc coverage: %d of %d public symbols undocumented" % (len(missing), total))
sys.exit(1 if missing else 0)
