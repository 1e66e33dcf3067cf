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
SCREEN = {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False}  # a laptop's


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "explorer.html"
        subprocess.run(COMMAND.format(path=page).split(), check=True)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in FLAGS.split():
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", SCREEN)
            driver.get(page.as_uri())
            driver.execute_script(f"window.explorer.setPos(Math.round(window.explorer.total * {FRACTION}))")
            driver.save_screenshot(str(HERE / "explorer.png"))
        finally:
            driver.quit()
    print(f"wrote {HERE / 'explorer.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
