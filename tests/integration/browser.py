"""Headless Chromium for the approval page tests (Debian's chromium,
chromium-driver and python3-selenium): 127.0.0.1 only, a fresh profile per
browser, the test certificate trusted by its public key alone, a phone's
screen size. Screenshots go into the build directory (a CI artefact)."""

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

from dovecot_harness import build_dir

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def available():
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


def spki_hash(cert_path):
    """base64 SHA-256 of the certificate's public key (what
    --ignore-certificate-errors-spki-list takes)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-pubkey",
                          "-noout"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=pub, check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def screenshot_dir():
    path = os.path.join(build_dir(), "screenshots")
    os.makedirs(path, exist_ok=True)
    return path


class Browser:
    def __init__(self, cert_path, width=412, height=915):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="su-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-extensions", "--disable-dev-shm-usage",
                    "--user-data-dir=" + self.profile,
                    "--ignore-certificate-errors-spki-list=" +
                    spki_hash(cert_path),
                    "--window-size=%d,%d" % (width, height)):
            opts.add_argument(arg)
        self.driver = webdriver.Chrome(
            service=Service(CHROMEDRIVER, log_path=os.devnull), options=opts)
        self.driver.set_page_load_timeout(20)

    def get(self, url):
        self.driver.get(url)

    def find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def submit(self, button):
        """Click a form's button and wait for the page it brings."""
        from selenium.webdriver.support.ui import WebDriverWait
        from selenium.common.exceptions import (
            StaleElementReferenceException, WebDriverException)
        old = self.find("html")
        button.click()

        def left(_driver):
            # Chromium sometimes answers a question about a node of the
            # page just left with "unhandled inspector error: Node with
            # given id does not belong to the document" instead of a stale
            # element: that page is gone too
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as e:
                if "does not belong to the document" in str(e):
                    return True
                raise
        WebDriverWait(self.driver, 15).until(left)

    def text(self):
        return self.find("body").text

    def cookie(self, name):
        c = self.driver.get_cookie(name)
        return c

    def screenshot(self, name):
        path = os.path.join(screenshot_dir(), name + ".png")
        self.driver.save_screenshot(path)
        return path

    def fits_screen(self):
        """No horizontal scrolling on the phone-sized window."""
        return self.driver.execute_script(
            "return document.documentElement.scrollWidth <= "
            "window.innerWidth")

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def browsers(dc):
    """A test's browsers (import it into the test module, which defines
    dc with an approval_ca): new() opens one, all quit at the end."""
    opened = []

    def new():
        b = Browser(dc.approval_ca)
        opened.append(b)
        return b

    yield new
    for b in opened:
        b.quit()
