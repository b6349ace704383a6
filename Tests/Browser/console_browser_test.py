#!/usr/bin/env python3
"""Drives the web console in a real browser (Debian's chromium through chromedriver, Selenium).

Run by Tests/ApplianceTests/ConsoleBrowserTests.swift against a real `appliance serve`; not on its
own. The administrator certificates reach Chromium the way a person's would: the PKCS#12 files
`appliance admins add` wrote are imported into an NSS database (pk12util reads the password from
the 0600 file) and the test root is trusted there; a per-profile content setting
(`auto_select_certificate`, the setting the AutoSelectCertificateForUrls policy writes) picks the
administrator's certificate by its subject, since a headless browser cannot show the chooser.

Steps (each prints one `ok …` line the Swift test checks):
  approve   ADMIN    open Pending approvals, click Approve HOST…, then the confirmation button
  viewer    VIEWER   the pending page has no Approve control (and the list shows HOST)
  revoke    ADMIN    search HOST, open its certificate, choose keyCompromise, type the serial, click Revoke
  pages     ADMIN    every page at 1280x800: screenshot, no console errors, axe-core finds nothing serious or critical
Environment: CONSOLE_URL, ROOT_CA, WORK (scratch), SCREENSHOTS, HOST,
  ADMIN_P12/ADMIN_P12_PASSWORD_FILE/ADMIN_CN, VIEWER_P12/VIEWER_P12_PASSWORD_FILE/VIEWER_CN.
"""
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlparse

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

env = os.environ
CONSOLE = env["CONSOLE_URL"].rstrip("/")
WORK = env["WORK"]
HOME = os.path.join(WORK, "home")
NSSDB = "sql:" + os.path.join(HOME, ".pki", "nssdb")


def run(*argv):
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {result.stdout}{result.stderr}")


def prepare_nss():
    os.makedirs(os.path.join(HOME, ".pki", "nssdb"), mode=0o700, exist_ok=True)
    run("certutil", "-N", "-d", NSSDB, "--empty-password")
    run("certutil", "-A", "-d", NSSDB, "-n", "rootkeeper-test-root", "-t", "C,,", "-i", env["ROOT_CA"])
    for prefix in ("ADMIN", "VIEWER"):
        run("pk12util", "-d", NSSDB, "-i", env[f"{prefix}_P12"], "-w", env[f"{prefix}_P12_PASSWORD_FILE"])


def browser(common_name):
    """A headless Chromium whose profile selects the certificate with this subject CN for the console."""
    profile = os.path.join(WORK, "profile-" + common_name)
    os.makedirs(os.path.join(profile, "Default"), exist_ok=True)
    origin = urlparse(CONSOLE)
    pattern = f"https://{origin.hostname}:{origin.port},*"
    preferences = {
        "profile": {
            "content_settings": {
                "exceptions": {
                    "auto_select_certificate": {
                        pattern: {"setting": {"filters": [{"SUBJECT": {"CN": common_name}}]}}
                    }
                }
            }
        }
    }
    with open(os.path.join(profile, "Default", "Preferences"), "w") as f:
        json.dump(preferences, f)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800",
                     f"--user-data-dir={profile}", "--no-first-run", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", env={**os.environ, "HOME": HOME})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_window_size(1280, 800)
    driver.set_page_load_timeout(30)
    return driver


def expect(condition, message):
    if not condition:
        raise SystemExit("FAILED: " + message)


def wait_for(driver, text):
    """Waits (at most 15 s) for the page after a click to contain `text` (or to stop changing)."""
    try:
        WebDriverWait(driver, 15).until(lambda d: text in d.page_source)
    except Exception:
        pass


def approve(driver, host):
    driver.get(CONSOLE + "/pending")
    expect("Pending approvals" in driver.title, f"not the pending page: {driver.title} {driver.page_source[:500]}")
    link = driver.find_element(By.PARTIAL_LINK_TEXT, f"Approve {host}")
    link.click()
    WebDriverWait(driver, 15).until(staleness_of(link))
    button = driver.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    expect(button.text == f"Approve {host}", f"confirmation button says {button.text!r}")
    button.click()
    wait_for(driver, "The registration was approved.")
    expect("The registration was approved." in driver.page_source,
           f"no approval message after clicking: {driver.current_url} {driver.page_source[-1500:]}")
    print(f"ok approved {host} by clicking")


def viewer_sees_no_button(driver, host):
    driver.get(CONSOLE + "/pending")
    page = driver.page_source
    expect("(viewer)" in page, "not signed in as a viewer")
    expect(len(driver.find_elements(By.PARTIAL_LINK_TEXT, "Approve")) == 0, "a viewer sees an Approve control")
    print("ok viewer sees no approve control")


def revoke(driver, host):
    driver.get(CONSOLE + "/certificates")
    search = driver.find_element(By.ID, "q")
    search.clear()
    search.send_keys(host)
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    # The filtered list is a new page: until the old one is gone, its links are those found (and
    # go stale under the finder, as they once did under load).
    WebDriverWait(driver, 15).until(staleness_of(search))
    links = driver.find_elements(By.CSS_SELECTOR, "tbody td.mono a")
    expect(len(links) >= 1, f"no certificate found for {host}")
    serial = links[0].text
    links[0].click()
    WebDriverWait(driver, 15).until(staleness_of(links[0]))
    Select(driver.find_element(By.ID, "reason")).select_by_value("keyCompromise")
    driver.find_element(By.ID, "confirm").send_keys(serial)
    driver.find_element(By.XPATH, "//button[text()='Revoke certificate']").click()
    wait_for(driver, "The certificate was revoked.")
    expect("The certificate was revoked." in driver.page_source,
           f"no revocation message after clicking: {driver.current_url} {driver.page_source[-1500:]}")
    print(f"ok revoked {serial} by clicking")


PAGES = [("overview", "/"), ("pending", "/pending"), ("certificates", "/certificates"), ("timeline", "/timeline"), ("audit", "/audit")]


def pages(driver, screenshots):
    os.makedirs(screenshots, exist_ok=True)
    driver.get(CONSOLE + "/certificates?q=" + env.get("HOST", ""))
    detail = driver.find_elements(By.CSS_SELECTOR, "tbody td.mono a")
    extra = [("certificate", urlparse(detail[0].get_attribute("href")).path)] if detail else []
    for name, path in PAGES + extra:
        driver.get(CONSOLE + path)
        driver.save_screenshot(os.path.join(screenshots, f"console-{name}.png"))
        errors = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        expect(not errors, f"{path}: browser console errors {errors}")
        axe = Axe(driver)
        axe.inject()
        results = axe.run()
        serious = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        expect(not serious, f"{path}: axe finds {[(v['id'], v['impact'], v['help']) for v in serious]}")
        print(f"ok {name} screenshot and axe ({len(results['violations'])} minor findings)")


def main():
    steps = sys.argv[1:]
    prepare_nss()
    host = env.get("HOST", "")
    drivers = {}
    try:
        for step in steps:
            who = env["VIEWER_CN"] if step == "viewer" else env["ADMIN_CN"]
            if who not in drivers:
                drivers[who] = browser(who)
            driver = drivers[who]
            if step == "approve":
                approve(driver, host)
            elif step == "viewer":
                viewer_sees_no_button(driver, host)
            elif step == "revoke":
                revoke(driver, host)
            elif step == "pages":
                pages(driver, env["SCREENSHOTS"])
            elif step == "wait":
                time.sleep(1)
            else:
                raise SystemExit(f"unknown step {step}")
    finally:
        for driver in drivers.values():
            driver.quit()


if __name__ == "__main__":
    main()
