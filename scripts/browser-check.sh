#!/usr/bin/env bash
# The browser check: the shop's static pages rendered in a real browser (Debian's chromium,
# headless), at phone and desktop widths, checked for what a shopper must never get.
#
#   scripts/browser-check.sh [DIR]     work in DIR (default .build/browser-check): DIR/shop.db,
#                                      DIR/site/ (the pages), DIR/screenshots/{phone,desktop}/*.png
#
# 1. Installs chromium with apt-get when it is missing (as root, or through sudo).
# 2. Builds the demo database (`vitrine demo`), then injects hostile content through the public
#    paths a user has: a catalogue whose expert, product, reasons and user carry <script>,
#    <img onerror>, a javascript: link in markup and a long unbroken word; a product whose link
#    is javascript: (which `load` must refuse); a cart and an order awaiting payment with them.
# 3. Writes the pages (`vitrine pages`) and has scripts/browser_check.py render each one and fail
#    on: a console error or exception; horizontal overflow; an injected script that ran, or
#    injected markup that became elements; a link that is neither a page of the site nor an https
#    link on a partner's domains; any request but the page itself. The injected text must be
#    visible as text. Screenshots are kept.
# Exit 0 when every check passes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
OUT="${1:-.build/browser-check}"
started=$SECONDS

# Chromium, and a CJK font so that the screenshots show the Chinese text (WenQuanYi Micro Hei:
# 1.6 MB, where Noto CJK is 56 MB). Neither is needed by the checks themselves.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; } || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
    echo "browser-check: installing ${missing[*]} (apt-get)"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    t=$SECONDS
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "browser-check: installed in $((SECONDS - t)) s"
fi
chromium --version 2>/dev/null

swift build --product vitrine >/dev/null
VITRINE="$(swift build --show-bin-path)/vitrine"
rm -rf "$OUT"
mkdir -p "$OUT"
DB="$OUT/shop.db"

"$VITRINE" demo --db "$DB" >/dev/null
LONG="$(printf 'A%.0s' $(seq 1 300))"
cat > "$OUT/hostile-catalogue.json" <<EOF
{
  "format": "vitrine-catalogue", "version": 1,
  "experts": [
    { "id": "\"><svg onload=alert(1)>", "displayName": "<script>window.__pwned=1</script>",
      "categories": ["beauty"], "commissionBasisPoints": 800 },
    { "id": "Long-${LONG:0:100}", "displayName": "Name${LONG}", "categories": ["beauty"], "commissionBasisPoints": 500 }
  ],
  "products": [
    { "id": "../../hostile", "partner": "tmall", "link": "https://detail.tmall.com/item.htm?id=9&from=%22x",
      "title": "<img src=x onerror=\"window.__pwned=2\">", "priceFen": 9900,
      "merchant": "Tom & Jerry \"shop\" 'quoted'", "category": "beauty", "initialStock": 50 },
    { "id": "long-title", "partner": "weimai", "link": "https://www.weimai.com/item/1",
      "title": "Title${LONG}", "priceFen": 100, "merchant": "M${LONG}", "category": "beauty", "initialStock": 5 }
  ],
  "recommendations": [
    { "id": "hostile-1", "expert": "\"><svg onload=alert(1)>", "product": "../../hostile", "quantity": 10,
      "reason": "<script>window.__pwned=1</script> and <img src=x onerror=\"window.__pwned=2\">", "createdAt": 1433116800000 },
    { "id": "hostile-2", "expert": "\"><svg onload=alert(1)>", "product": "long-title", "quantity": 3,
      "reason": "<a href=\"javascript:window.__pwned=3\">click me</a> javascript:window.__pwned=4 ${LONG}",
      "createdAt": 1433116900000 },
    { "id": "hostile-3", "expert": "Long-${LONG:0:100}", "product": "../../hostile", "quantity": 3,
      "reason": "${LONG}", "createdAt": 1433117000000 }
  ],
  "users": [{ "id": "<b>eve</b>", "displayName": "<script>window.__pwned=5</script>", "interests": ["beauty"] }]
}
EOF
"$VITRINE" load "$OUT/hostile-catalogue.json" --db "$DB" --quiet >/dev/null
# A javascript: product link is refused where it comes in (load checks every link).
sed -e 's|"link": "https://www.weimai.com/item/1"|"link": "javascript:window.__pwned=6"|' -e 's|"id": "long-title"|"id": "js-link"|' \
    "$OUT/hostile-catalogue.json" > "$OUT/javascript-link.json"
if "$VITRINE" load "$OUT/javascript-link.json" --db "$DB" --quiet >/dev/null 2>"$OUT/javascript-link.err"; then
    echo "browser-check: FAIL a product with a javascript: link was loaded" >&2
    exit 1
fi
# A cart and an order awaiting payment, with the hostile products.
"$VITRINE" add-to-cart "<b>eve</b>" hostile-1 --db "$DB" >/dev/null
"$VITRINE" add-to-cart "<b>eve</b>" hostile-2 --db "$DB" >/dev/null
"$VITRINE" checkout "<b>eve</b>" --key browser-check --db "$DB" >/dev/null
"$VITRINE" add-to-cart "<b>eve</b>" hostile-3 --db "$DB" --qty 2 >/dev/null
"$VITRINE" add-to-cart usr-0001 rec-000368 --db "$DB" >/dev/null

"$VITRINE" pages --db "$DB" --out "$OUT/site" --quiet

# The checker must see what it looks for: a page that breaks every rule has to fail, one way each.
mkdir -p "$OUT/bad-site"
cat > "$OUT/bad-site/bad.html" <<'EOF'
<!doctype html><html><head><meta name="viewport" content="width=device-width"></head><body>
<script>window.__pwned = 1; console.error("injected");</script><img src=x onerror="window.__pwned=2">
<div style="width:3000px">wide</div><a href="https://evil.example/">out</a><a href="javascript:void(0)">js</a>
</body></html>
EOF
if python3 scripts/browser_check.py --site "$OUT/bad-site" --out "$OUT/bad-site-check" --allow-domain tmall.com \
    > "$OUT/bad-site-check.log" 2>&1; then
    echo "browser-check: FAIL the checker passed a page that breaks every rule" >&2
    exit 1
fi
for rule in "console error" "overflows horizontally" "script ran" "script element" "on\* attributes" "leaves the whitelist" "neither a page" "requested"; do
    grep -q "$rule" "$OUT/bad-site-check.log" || { echo "browser-check: FAIL the checker missed: $rule" >&2; cat "$OUT/bad-site-check.log" >&2; exit 1; }
done
python3 scripts/browser_check.py --site "$OUT/site" --out "$OUT" \
    --allow-domain tmall.com --allow-domain tmall.hk --allow-domain taobao.com --allow-domain tb.cn --allow-domain weimai.com \
    --expect-text "<script>window.__pwned=1</script>" --expect-text "<img src=x onerror=\"window.__pwned=2\">" \
    --expect-text "<a href=\"javascript:window.__pwned=3\">click me</a>" --expect-text "Tom & Jerry \"shop\" 'quoted'"
echo "browser-check: passed in $((SECONDS - started)) s"
