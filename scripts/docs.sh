#!/usr/bin/env bash
# Builds the DocC documentation of VitrineStore, Vitrine and VitrinePages with the toolchain's own
# tools, no package plugin: `swift build`, then each module's symbol graph from the compiled module
# (swift-symbolgraph-extract), then `docc convert` with the module's catalog
# (Sources/<Module>/<Module>.docc). Fails on any DocC warning (broken ``Symbol`` links,
# undocumented parameters in a Parameters list, ...) and on any public symbol without a doc
# comment (scripts/doc_coverage.py).
#
#   scripts/docs.sh [OUT]     archives in OUT (default .build/docs): VitrineStore.doccarchive,
#                             Vitrine.doccarchive, VitrinePages.doccarchive
# Look at one with `docc preview Sources/Vitrine/Vitrine.docc --additional-symbol-graph-dir
# .build/docs/symbol-graphs/Vitrine`, or serve the archive's files (static hosting).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
OUT="${1:-.build/docs}"
TRIPLE="$(swift -print-target-info | sed -n 's/.*"unversionedTriple": "\(.*\)".*/\1/p' | sed -n 1p)"

swift build --target VitrinePages
BIN="$(swift build --show-bin-path)"
rm -rf "$OUT"
for MODULE in VitrineStore Vitrine VitrinePages; do
    GRAPHS="$OUT/symbol-graphs/$MODULE"
    mkdir -p "$GRAPHS"
    # The C targets' module maps, for VitrineStore's imports of CRC32CHardware, CFileIdentity and CPrefetch.
    swift-symbolgraph-extract -module-name "$MODULE" -target "$TRIPLE" -I "$BIN/Modules" \
        -Xcc -fmodule-map-file="$BIN/CRC32CHardware.build/module.modulemap" \
        -Xcc -fmodule-map-file="$BIN/CFileIdentity.build/module.modulemap" \
        -Xcc -fmodule-map-file="$BIN/CPrefetch.build/module.modulemap" \
        -minimum-access-level public -output-dir "$GRAPHS"
    LOG="$OUT/$MODULE-docc.log"
    docc convert "Sources/$MODULE/$MODULE.docc" \
        --fallback-display-name "$MODULE" --fallback-bundle-identifier "org.vitrine.$MODULE" \
        --additional-symbol-graph-dir "$GRAPHS" \
        --output-path "$OUT/$MODULE.doccarchive" 2>&1 | tee "$LOG"
    if grep -q "warning:" "$LOG"; then
        echo "docs: DocC warnings in $MODULE (see $LOG)" >&2
        exit 1
    fi
done
# Every public symbol is documented: one without a doc comment (scripts/doc_coverage.py, read
# from the symbol graphs) fails the build, listed.
if ! python3 scripts/doc_coverage.py "$OUT"/symbol-graphs/*/*.symbols.json > "$OUT/undocumented.txt"; then
    cat "$OUT/undocumented.txt" >&2
    echo "docs: public symbols without documentation (listed above; $OUT/undocumented.txt)" >&2
    exit 1
fi
echo "docs: $OUT/{VitrineStore,Vitrine,VitrinePages}.doccarchive, no warnings; $(tail -1 "$OUT/undocumented.txt") (list: $OUT/undocumented.txt)"
