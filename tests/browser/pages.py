"""What the journey tests do on every page: look at it as each user would.

``Visit.look(page, name)`` runs axe-core (axe-playwright-python) on the page as it stands, then
opens the same address in the large-text and the high-contrast mode (the display cookie the
portal's toggles set) and at a 375 px wide viewport, and records:

* every serious or critical axe violation, per mode;
* a page wider than the 375 px viewport (content that forces sideways scrolling);
* screenshots under ``test-output/browser/``: the whole page at desktop and at mobile width,
  and the desktop view's first screen as a small JPEG (docs/demo.md uses those).

The journey asserts at its end that nothing was recorded, so one run reports every page's
problems at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 375, "height": 812}
MODES = {"default": "", "large-text": "large", "high-contrast": "contrast"}
SERIOUS = {"serious", "critical"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Visit:
    browser: Any
    base_url: str
    output: Path
    journey: str
    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    step: int = 0

    def context(self, *, mobile: bool = False, storage_state: Any = None) -> Any:
        return self.browser.new_context(
            base_url=self.base_url,
            viewport=MOBILE if mobile else DESKTOP,
            locale="zh-CN",
            storage_state=storage_state,
        )

    def look(self, page: Any, name: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.step += 1
        shot = f"{self.journey}-{self.step:02d}-{_slug(name)}"
        self.pages.append(f"{name} ({page.url.removeprefix(self.base_url)})")
        page.screenshot(path=str(self.output / f"{shot}-desktop.png"), full_page=True)
        # What a visitor sees first, small enough for docs/demo.md.
        page.screenshot(path=str(self.output / f"{shot}-top.jpg"), type="jpeg", quality=70)
        state = page.context.storage_state()
        axe = Axe()
        for mode, flag in MODES.items():
            for mobile in (False, True):
                context = self.context(mobile=mobile, storage_state=state)
                if flag:
                    context.add_cookies([{"name": "ow_display", "value": flag, "url": page.url}])
                other = context.new_page()
                other.goto(page.url)
                if mode == "default" and mobile:
                    other.screenshot(path=str(self.output / f"{shot}-mobile.png"), full_page=True)
                if mobile:
                    width = other.evaluate("document.documentElement.scrollWidth")
                    if width > MOBILE["width"]:
                        self.problems.append(
                            f"{name} [{mode}]: {width} px wide at a 375 px viewport"
                        )
                else:
                    result = axe.run(other)
                    for violation in result.response["violations"]:
                        if violation["impact"] in SERIOUS:
                            targets = [n["target"] for n in violation["nodes"]][:3]
                            self.problems.append(
                                f"{name} [{mode}]: {violation['impact']} {violation['id']} "
                                f"({violation['help']}) at {targets}"
                            )
                context.close()

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(
            [f"{len(self.problems)} accessibility/layout problems:", *self.problems]
        )
