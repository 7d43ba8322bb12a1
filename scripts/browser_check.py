#!/usr/bin/env python3
"""Renders every page of a `vitrine pages` site in headless Chromium and checks it.

Drives Chromium over the DevTools protocol on --remote-debugging-pipe (Chromium reads commands
on fd 3 and writes replies and events on fd 4, one JSON message per NUL-terminated chunk), with
the standard library only. For every page, at a phone and a desktop viewport, it fails when:
  - the page logs a console error or warning from the page, a log entry of level error (CSP
    violations among them), or throws an exception;
  - the layout overflows horizontally (document scrollWidth > viewport width);
  - an injected script ran (window.__pwned defined), or the DOM holds a <script> element, an
    element with an on* attribute, or an element the renderers never write (img, svg, iframe, ...);
  - a link leaves the whitelist: every a[href] is a page of the site (file:// under the site,
    existing) or an https link whose host is on a partner's domains;
  - the page requests anything but its own file (no external resource, no data: images even).
It also checks that each --expect-text string appears as text somewhere in the site (the
injected markup, shown and not run). Screenshots (PNG, the viewport) go to OUT/screenshots/.

  browser_check.py --site DIR --out DIR [--chromium PATH] [--allow-domain D ...] [--expect-text S ...]
Exit status 0 when every check passes, 1 with one line per failure, 2 when Chromium cannot run.
"""

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

VIEWPORTS = [("phone", 390, 844, True), ("desktop", 1280, 800, False)]
ALLOWED_TAGS = {
    "html", "head", "meta", "link", "title", "style", "body", "header", "main", "footer", "a", "h1", "h2", "h3",
    "p", "span", "code", "ol", "ul", "li", "div", "section", "table", "tbody", "tr", "th", "td",
}
# What the page reports about itself (run by DevTools, not by the page: the page has no script).
PROBE = """(() => {
  const all = [...document.querySelectorAll('*')];
  return JSON.stringify({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    pwned: typeof window.__pwned !== 'undefined',
    scripts: document.querySelectorAll('script').length,
    handlers: all.filter(e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).map(e => e.tagName),
    foreign: [...new Set(all.map(e => e.tagName.toLowerCase()))],
    links: [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href]),
    text: document.body ? document.body.innerText : '',
    title: document.title,
  });
})()"""


class DevToolsError(Exception):
    pass


class Browser:
    """Chromium with a DevTools pipe; every call has a deadline; closed (killed) at exit."""

    def __init__(self, chromium, timeout):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="vitrine-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        args = [chromium, "--headless=new", "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                "--force-color-profile=srgb", "--user-data-dir=" + self.profile, "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox

        def wire_pipes():
            # Through fds above 4 first, so neither end is overwritten by the other's dup2.
            # (subprocess closes every fd but pass_fds after this runs: 3 and 4 are in pass_fds.)
            high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)
            os.setsid()  # its own process group, killed as one

        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     pass_fds=(3, 4, to_child_r, from_child_w), preexec_fn=wire_pipes)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except Exception:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DevToolsError("no answer from Chromium in time")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise DevToolsError("Chromium closed the pipe (exit %s)" % self.proc.poll())
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.to_child, data):]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise DevToolsError("%s: %s" % (method, reply["error"].get("message")))
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method, session, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method and e.get("sessionId") == session:
                    return self.events.pop(i)
            reply = self._read_message(deadline)
            if "method" in reply:
                self.events.append(reply)


def host_allowed(host, domains):
    host = host.lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def check_page(browser, session, site, path, viewport, domains, shots, failures, texts):
    name, width, height, mobile = viewport
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session)
    browser.events = [e for e in browser.events if e.get("sessionId") != session]
    url = "file://" + urllib.parse.quote(os.path.join(site, path))
    browser.send("Page.navigate", {"url": url}, session)
    browser.wait_event("Page.loadEventFired", session)
    result = browser.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session)
    if "exceptionDetails" in result:
        failures.append("%s [%s]: the probe failed: %s" % (path, name, result["exceptionDetails"].get("text")))
        return
    probe = json.loads(result["result"]["value"])
    where = "%s [%s %dx%d]" % (path, name, width, height)

    # Events collected while the page loaded.
    for e in browser.events:
        if e.get("sessionId") != session:
            continue
        method, params = e["method"], e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            failures.append("%s: console %s: %s" % (where, params["type"], [a.get("value") for a in params.get("args", [])]))
        elif method == "Runtime.exceptionThrown":
            failures.append("%s: exception: %s" % (where, params.get("exceptionDetails", {}).get("text")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            failures.append("%s: log error: %s" % (where, params["entry"].get("text")))
        elif method == "Network.requestWillBeSent":
            requested = params.get("request", {}).get("url", "")
            if requested != url:
                failures.append("%s: requested %s (pages load nothing)" % (where, requested))

    if probe["scrollWidth"] > width:
        failures.append("%s: overflows horizontally (scrollWidth %d > %d)" % (where, probe["scrollWidth"], width))
    if probe["pwned"]:
        failures.append("%s: an injected script ran (window.__pwned is defined)" % where)
    if probe["scripts"]:
        failures.append("%s: %d script element(s) in the DOM" % (where, probe["scripts"]))
    if probe["handlers"]:
        failures.append("%s: on* attributes on %s" % (where, probe["handlers"]))
    foreign = sorted(set(probe["foreign"]) - ALLOWED_TAGS)
    if foreign:
        failures.append("%s: elements the pages never write: %s" % (where, foreign))
    site_root = os.path.realpath(site)
    for raw, resolved in probe["links"]:
        parsed = urllib.parse.urlsplit(resolved)
        if parsed.scheme == "https":
            if not host_allowed(parsed.hostname or "", domains):
                failures.append("%s: link %r leaves the whitelist" % (where, raw))
        elif parsed.scheme == "file" and not raw.startswith(("file:", "/")) and ":" not in raw.split("/")[0]:
            target = os.path.realpath(urllib.parse.unquote(parsed.path))
            if not target.startswith(site_root + os.sep) or not os.path.isfile(target):
                failures.append("%s: link %r leads outside the site or nowhere" % (where, raw))
        else:
            failures.append("%s: link %r is neither a page of the site nor https" % (where, raw))
    texts.append(probe["text"])

    shot = browser.send("Page.captureScreenshot", {"format": "png"}, session)
    out = os.path.join(shots, name, path.replace(os.sep, "__").replace(".html", ".png"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        f.write(base64.b64decode(shot["data"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--allow-domain", action="append", default=[])
    parser.add_argument("--expect-text", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()

    site = os.path.realpath(args.site)
    pages = sorted(os.path.relpath(os.path.join(d, f), site)
                   for d, _, files in os.walk(site) for f in files if f.endswith(".html"))
    if not pages:
        print("browser-check: no pages under %s" % site)
        return 1
    shots = os.path.join(args.out, "screenshots")
    shutil.rmtree(shots, ignore_errors=True)
    failures, texts = [], []
    started = time.monotonic()
    try:
        browser = Browser(args.chromium, args.timeout)
    except OSError as e:
        print("browser-check: cannot start %s: %s" % (args.chromium, e))
        return 2
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(domain + ".enable", {}, session)
        for path in pages:
            for viewport in VIEWPORTS:
                check_page(browser, session, site, path, viewport, args.allow_domain, shots, failures, texts)
    except DevToolsError as e:
        print("browser-check: %s" % e)
        return 2
    finally:
        browser.close()

    shown = "\n".join(texts)
    for expected in args.expect_text:
        if expected not in shown:
            failures.append("the injected text %r is not shown as text on any page" % expected)
    for f in failures[:200]:
        print("browser-check: FAIL " + f)
    if len(failures) > 200:
        print("browser-check: ... %d more" % (len(failures) - 200))
    print("browser-check: %d pages x %d viewports in %.1f s, %d failure(s); screenshots in %s"
          % (len(pages), len(VIEWPORTS), time.monotonic() - started, len(failures), shots))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
