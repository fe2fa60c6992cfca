"""Take headless screenshots of pages of a running citizen_desk, to look at them.

    python docs/screenshots.py http://127.0.0.1:5000 / /?lang=en ... [--out DIR]

Uses Debian's Chromium through Playwright; PNGs go to ``test-artifacts/``.
"""
import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--out", default="test-artifacts")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        for path in args.paths:
            page.goto(args.base.rstrip("/") + path)
            name = re.sub(r"[^a-zA-Z0-9]+", "_", path).strip("_") or "home"
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
