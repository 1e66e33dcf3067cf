"""Make docs/explorer.png, the README's still of the explorer: the page ``tinygrad-lstm graph --compare``
writes, opened in Debian's headless Chromium and stepped part of the way back.

    python docs/explorer_still.py            # needs chromium, chromium-driver and selenium

The page itself is not kept in the repository: ``tinygrad-lstm demo`` writes one, and the command
below writes this one.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HERE = Path(__file__).parent
COMMAND = "tinygrad-lstm graph --compare rnn,lstm --forget-bias 1 --steps 24 --hidden-size 16 -o {path}"
FRACTION = 0.55  # of the sweep run when the picture is taken
FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run"


def screenshot(page: Path, out: Path, width: int = 1366, height: int = 768, fraction: float = FRACTION) -> None:
    """Open ``page`` in headless Chromium at ``width`` x ``height``, step ``fraction`` of the sweep, save ``out``."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in FLAGS.split():
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        screen = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", screen)
        driver.get(page.as_uri())
        driver.execute_script(f"window.explorer.setPos(Math.round(window.explorer.total * {fraction}))")
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
    print(f"wrote {out}", file=sys.stderr)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "explorer.html"
        subprocess.run(COMMAND.format(path=page).split(), check=True)
        screenshot(page, HERE / "explorer.png")  # a laptop's screen


if __name__ == "__main__":
    main()
