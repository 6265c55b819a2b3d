#!/usr/bin/env python3
"""Checks the dashboard in a real browser: Debian's headless Chromium driven by Selenium against a real
`keygate serve` in front of `keygate-fake-upstream` (the provider fakes and the fake Stripe).

An admin signs in (a wrong password is refused in words), adds a BYOK key the fake provider accepts (one it
refuses is explained), sees only its masked preview, watches a lab answer stream in on that key while the BYOK
request count rises and Available stays, deactivates the key (after a confirmation page) and sees the next lab
answer paid in credits, both counted in the 30-day usage chart; creates an API key in settings (shown once,
works, revoked after a confirmation: 401), flips the fallback switch, buys a pack through the fake Stripe Checkout
and its webhook, signs out; a member reads billing, lab and settings without the admin's forms, and both get 404
for another org. The billing page fits a phone's width. Every page is screenshotted (never while it shows a full
API key: settings is taken after the reload that hides it), and no secret reaches a page, the server log or the
database; `keygate ledger verify` passes. About 15 s.

Usage: checks/dashboard_browser_check.py [BIN_DIR] [--screenshots DIR] [--docs]
  BIN_DIR        where `keygate` and `keygate-fake-upstream` are (default .build/debug)
  --screenshots  where the PNGs go (default .build/dashboard-screenshots)
  --docs         also write the main screenshots to docs/screenshots/ for the README
"""
import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal, InvalidOperation

import checklib
from checklib import free_port, http, sign, stop, summary, wait_ready

# Selenium must neither fetch drivers nor send statistics: the driver is Debian's, next to its Chromium.
os.environ.setdefault("SE_OFFLINE", "true")
os.environ.setdefault("SE_AVOID_STATS", "true")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    ElementNotInteractableException, JavascriptException, NoSuchElementException, StaleElementReferenceException, TimeoutException,
    WebDriverException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLATFORM_KEY = "sk-platform-browser-check-0123456789"
BYOK_SECRET = "sk-org-byok-browser-check-SECRET-7d41c9e2"
REFUSED_SECRET = "sk-org-refused-browser-check-NOPE-5e2a81f0"
STRIPE_SECRET = "sk_test_browserCHECKsecret0123456789"
WEBHOOK_SECRET = "whsec_browserCHECKwebhook0123456789"
SLUG, OTHER_SLUG = "acme", "globex"
ADMIN = ("admin@acme.example", "admin password 0123")
MEMBER = ("member@acme.example", "member password 4567")
OTHER_ADMIN = ("admin@globex.example", "globex password 89ab")
STARTING_CREDITS = Decimal(100)
MODEL = "openai/gpt-5.6-luna"
# The fake provider reads this directive: 8 chunks, 150 ms apart, so the answer visibly streams in.
LAB_MESSAGE = "Say hello slowly #fake chunks=8 delay_ms=150"
LAB_ANSWER = "w0 w1 w2 w3 w4 w5 w6 w7"
PACK, PACK_CREDITS = "starter", Decimal(1000)
API_KEY_NAME = "browser check"
DOCS_SHOTS = {"login": "login.png", "billing": "billing.png", "settings": "settings.png", "lab": "lab.png",
              "billing-phone": "billing-phone.png"}
# A whole Keygate key as APIKeyGenerator makes it (kg_ API keys, kgop_ operator tokens): lookup id, then the secret.
# Its preview (`kg_<id>_…abcd`) does not match.
FULL_KEY = re.compile(r"kg(?:op)?_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
WAIT = 10
FIND_WAIT = 3


def check(name, fn):
    """checklib's check, with Selenium's errors reduced to their first line (their repr is empty)."""
    def run():
        try:
            fn()
        except WebDriverException as error:
            raise AssertionError(f"{type(error).__name__}: {(error.msg or '').splitlines()[0] if error.msg else ''}") from None
    checklib.check(name, run)




def credits(text):
    """A card's amount ("1,099.999812 credits" → Decimal)."""
    cleaned = re.sub(r"[^0-9.\-]", "", text.replace("\u2212", "-"))
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise AssertionError(f"not an amount of credits: {text!r}") from None


class Dashboard:
    """The browser and the helpers every check uses: open a page, submit a form, confirm, read a card, screenshot.
    Every page the browser shows is remembered (its source) and checked for the BYOK secrets on the spot."""

    def __init__(self, base, shots_dir, docs_dir):
        self.base = base
        self.shots_dir = shots_dir
        self.docs_dir = docs_dir
        self.pages = []
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for CSP reports
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     # Nothing leaves the machine: Stripe's Checkout page fails fast instead of timing out.
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
            options.add_argument(flag)
        service = Service(executable_path="/usr/bin/chromedriver", log_output=subprocess.DEVNULL)
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(30)

    def quit(self):
        self.driver.quit()

    # Waiting and finding

    def wait(self, condition, timeout=WAIT, message="the page did not get there"):
        try:
            # A poll that lands while a page unloads gets "document unloaded" or a stale element: poll again.
            ignored = (NoSuchElementException, StaleElementReferenceException, JavascriptException)
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05, ignored_exceptions=ignored).until(condition)
        except TimeoutException:
            raise AssertionError(f"{message} (after {timeout} s on {self.path()})") from None

    def find(self, css, timeout=FIND_WAIT):
        """An element of the page already loaded (server-rendered pages have it at once; a short grace for scripts)."""
        return self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, css)), timeout, f"no {css}")

    def visible(self, css, timeout=FIND_WAIT):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"{css} is not shown")

    def has(self, css):
        return bool(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self, css):
        """The element's text, read through the page itself and polled: an element found while Chromium still
        swaps documents (a loaded machine) can be gone by the time it is read ("does not belong to the document")."""
        self.find(css)
        script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : null"

        def read(driver):
            try:
                return driver.execute_script(script, css)
            except WebDriverException as error:
                if "does not belong to the document" in str(error) or "unloaded" in str(error):
                    return None
                raise
        return self.wait(read, message=f"no text in {css}").strip()

    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    # Pages

    def remember(self):
        """Keeps this page's source for the final scan, and fails now if it shows a BYOK secret."""
        source = self.driver.page_source
        self.pages.append((self.driver.current_url, source))
        for secret in (BYOK_SECRET, REFUSED_SECRET):
            assert secret not in source, f"a BYOK secret is in the source of {self.path()}"
        return source

    def open(self, path):
        self.driver.get(self.base + path)
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")
        return self.remember()

    def click_and_load(self, element):
        """Clicks something that loads a new page (a submit button, a link) and waits for that page."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        element.click()

        def replaced(_):
            # The old page's root is gone once the new page is in. Chromium 156 may say so with "does not belong
            # to the document" (a WebDriverException) rather than a stale-element error, on a loaded machine.
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as error:
                if "does not belong to the document" in str(error):
                    return True
                raise
        self.wait(replaced, message="the click loaded no page")
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")
        return self.remember()

    def submit(self, form_css):
        """Submits a form with its submit button and waits for the page that answers."""
        return self.click_and_load(self.find(form_css).find_element(By.CSS_SELECTOR, "[type=submit]"))

    def confirm(self, screenshot=None):
        """On a confirmation page: (screenshot it and) press #confirm."""
        self.find("form#confirm-form")
        if screenshot:
            self.shot(screenshot)
        return self.click_and_load(self.find("#confirm"))

    def fill(self, css, value):
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def login(self, email, password):
        self.open("/login")
        self.fill("form#login-form input[name=email]", email)
        self.fill("form#login-form input[name=password]", password)
        return self.submit("form#login-form")

    def logout(self):
        button = self.driver.find_elements(By.CSS_SELECTOR, "#sign-out")
        if button:
            self.click_and_load(button[0])
        self.driver.delete_all_cookies()

    def card(self, name):
        """The amount on a billing card (#card-<name> .amount) as a Decimal."""
        return credits(self.text(f"#card-{name} .amount"))

    def status_of(self, path):
        """The HTTP status of `path` fetched with the browser's session cookie (pages do not show it)."""
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())
        return http("GET", self.base + path, headers={"Cookie": cookies})[0]

    def shot(self, name, whole_page=True):
        """Saves the whole page (or just the first screen) as NAME.png; the main ones also to docs/ with --docs.
        Refuses to when the page shows a full API key or operator token (its text or a field's value): a
        screenshot, in docs/ above all, must never hold a secret."""
        shown = self.driver.execute_script(
            "return [document.body ? document.body.innerText : '']"
            ".concat(Array.from(document.querySelectorAll('input, textarea'), e => e.value)).join('\\n')")
        assert not FULL_KEY.search(shown), f"the page screenshotted as {name}.png shows a full key"
        path = os.path.join(self.shots_dir, f"{name}.png")
        width, height = self.driver.execute_script(
            "return [window.innerWidth, Math.max(document.documentElement.scrollHeight, window.innerHeight)]")
        if not whole_page:
            height = self.driver.execute_script("return window.innerHeight")
        try:
            png = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 6000), "scale": 1}})["data"]
            with open(path, "wb") as file:
                file.write(base64.b64decode(png))
        except Exception:  # noqa: BLE001 - a viewport screenshot is still worth having
            self.driver.save_screenshot(path)
        if self.docs_dir and name in DOCS_SHOTS:
            shutil.copyfile(path, os.path.join(self.docs_dir, DOCS_SHOTS[name]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bin_dir", nargs="?", default=".build/debug")
    parser.add_argument("--screenshots", default=".build/dashboard-screenshots")
    parser.add_argument("--docs", action="store_true")
    args = parser.parse_args()
    keygate = os.path.join(os.path.abspath(args.bin_dir), "keygate")
    fake_bin = os.path.join(os.path.abspath(args.bin_dir), "keygate-fake-upstream")
    shots_dir = os.path.abspath(args.screenshots)
    os.makedirs(shots_dir, exist_ok=True)
    docs_dir = os.path.join(REPO, "docs", "screenshots") if args.docs else None
    if docs_dir:
        os.makedirs(docs_dir, exist_ok=True)

    data_dir = tempfile.mkdtemp(prefix="keygate-dashboard-check-")
    log_path = os.path.join(data_dir, "serve.log")
    log = open(log_path, "wb")
    fake = subprocess.Popen([fake_bin, "--port", "0", "--api-key", PLATFORM_KEY, "--api-key", BYOK_SECRET,
                             "--stripe-secret", STRIPE_SECRET], stdout=subprocess.PIPE, text=True)
    server = None
    browser = None
    try:
        fake_url = f"http://127.0.0.1:{int(fake.stdout.readline().strip().rsplit(' ', 1)[1])}"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, KEYGATE_DATA_DIR=data_dir, KEYGATE_PUBLIC_URL=base,
                   KEYGATE_PROVIDER_OPENAI_BASE_URL=f"{fake_url}/v1", KEYGATE_PROVIDER_OPENAI_API_KEY=PLATFORM_KEY,
                   KEYGATE_STRIPE_BASE_URL=fake_url, KEYGATE_STRIPE_SECRET_KEY=STRIPE_SECRET,
                   KEYGATE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, KEYGATE_MIN_RESERVATION_CREDITS="1",
                   KEYGATE_TRIAL_CREDITS="0", KEYGATE_PASSWORD_HASH_COST="4", KEYGATE_LOG_LEVEL="info")

        def cli(*arguments, stdin=None):
            return subprocess.run([keygate, *arguments], env=env, input=stdin, check=True, capture_output=True, text=True)

        for slug in (SLUG, OTHER_SLUG):
            cli("org", "create", slug)
            cli("credits", "grant", "--org", slug, "--credits", str(STARTING_CREDITS), "--reason", "browser check")
        for slug, (email, password), role in ((SLUG, ADMIN, "admin"), (SLUG, MEMBER, "member"), (OTHER_SLUG, OTHER_ADMIN, "admin")):
            cli("user", "create", "--org", slug, "--email", email, "--role", role, stdin=password + "\n")
        server = subprocess.Popen([keygate, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
        wait_ready(f"{base}/readyz", timeout=30)
        browser = Dashboard(base, shots_dir, docs_dir)
        run_checks(browser, base, fake_url, env, keygate, data_dir, log, log_path)
    finally:
        if browser:
            browser.quit()
        stop(*(p for p in (server, fake) if p))
        log.close()
    status = summary("(dashboard in headless Chromium)")
    if status:
        print(f"server log and database: {data_dir}; screenshots: {shots_dir}", flush=True)
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    return status


def run_checks(b, base, fake_url, env, keygate, data_dir, log, log_path):
    state = {}
    driver = b.driver

    def wrong_password():
        b.open("/login")
        b.find("form#login-form")
        b.shot("login")
        b.login(ADMIN[0], "not the password 000")
        problem = b.visible("#login-problem").text.strip()
        assert len(problem.split()) >= 3, f"#login-problem says {problem!r}"
        assert b.path() != f"/{SLUG}/billing", "a wrong password signed in"

    check("a wrong password is refused with #login-problem in words", wrong_password)

    def sign_in():
        b.login(*ADMIN)
        assert b.path() == f"/{SLUG}/billing", f"signed in to {b.path()}"
        b.find("meta[name=csrf-token]")
        for nav in ("#nav-billing", "#nav-settings", "#nav-lab", "#sign-out"):
            b.find(nav)

    check("an admin signs in and lands on /acme/billing with the navigation", sign_in)

    def cards():
        for name in ("available", "reserved", "total", "trial", "spend", "byok"):
            b.card(name)
        assert b.card("available") == STARTING_CREDITS, b.text("#card-available .amount")
        state["byok_count"] = b.card("byok")
        state["available"] = b.card("available")

    check("billing shows the six cards, Available 100.00", cards)

    def add_byok(secret):
        b.open(f"/{SLUG}/billing")
        Select(b.find("select#byok-provider")).select_by_value("openai")
        b.fill("input#byok-secret", secret)
        for validate in driver.find_elements(By.CSS_SELECTOR, "form#byok-add input[name=validate]"):
            if not validate.is_selected():  # the key must be checked with the (fake) provider first
                validate.click()
        return b.submit("form#byok-add")

    def refused_key():
        add_byok(REFUSED_SECRET)
        problem = b.visible("#byok-problem")
        words = problem.text.strip()
        assert problem.get_attribute("role") == "alert", "#byok-problem has role=alert"
        assert len(words.split()) >= 5 and re.search(r"[a-z]{4}", words), f"#byok-problem is not in words: {words!r}"
        assert not any(r.find_element(By.CSS_SELECTOR, ".status").text.strip() == "active"
                       for r in driver.find_elements(By.CSS_SELECTOR, "tr.byok-key")), "a refused key is active"

    check("a key the provider refuses shows #byok-problem in words (and never the key)", refused_key)

    def good_key():
        add_byok(BYOK_SECRET)
        b.visible("#byok-notice")
        rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "tr.byok-key")
                if r.find_element(By.CSS_SELECTOR, ".status").text.strip() == "active"]
        assert len(rows) == 1, f"{len(rows)} active BYOK keys listed"
        row = rows[0]
        assert "openai" in row.find_element(By.CSS_SELECTOR, ".provider").text.lower(), "the key's provider is OpenAI"
        preview = row.find_element(By.CSS_SELECTOR, ".preview").text.strip()
        assert preview and len(preview) < len(BYOK_SECRET) // 2, f"the preview is not masked: {len(preview)} characters"
        state["preview"], state["key_id"] = preview, row.get_attribute("data-key-id")

    check("a BYOK key validated against the fake provider is listed active with a masked preview", good_key)

    def lab_message(screenshot=None):
        """Sends LAB_MESSAGE in the lab and returns the distinct answer texts seen before #lab-status said done."""
        b.open(f"/{SLUG}/lab")
        select = Select(b.find("select#lab-model"))
        values = [o.get_attribute("value") for o in select.options]
        assert MODEL in values, f"{MODEL} is not offered in #lab-model ({len(values)} models)"
        select.select_by_value(MODEL)
        b.fill("textarea#lab-message", LAB_MESSAGE)
        b.find("#lab-send").click()
        seen, status, deadline = [], "", time.time() + 20
        while time.time() < deadline:
            answer, status = driver.execute_script(
                "const a = document.getElementById('lab-answer'), s = document.getElementById('lab-status');"
                "return [a ? a.textContent : '', s ? s.textContent.trim() : ''];")
            if status in ("done", "failed"):
                break
            if answer.strip() and (not seen or seen[-1] != answer):
                seen.append(answer)
            time.sleep(0.03)
        b.remember()
        assert status == "done", f"#lab-status is {status!r}: {b.text('#lab-error') if b.has('#lab-error') else ''}"
        final = b.text("#lab-answer")
        assert final == LAB_ANSWER, f"the answer is {final!r}"
        assert len(seen) >= 2, f"the answer did not stream: {len(seen)} step(s) seen before done"
        if screenshot:
            b.shot(screenshot)
        return b.text("#lab-path")

    def lab_on_byok():
        path = lab_message("lab")
        assert path.startswith("BYOK") and state["preview"] in path, f"#lab-path says {path!r}"

    check("the lab streams an answer in steps on the BYOK key, #lab-path naming its preview", lab_on_byok)

    def byok_count_rose():
        b.open(f"/{SLUG}/billing")
        assert b.card("byok") == state["byok_count"] + 1, f"BYOK requests {state['byok_count']} → {b.card('byok')}"
        assert b.card("available") == state["available"], f"Available {state['available']} → {b.card('available')}"

    check("billing: the BYOK request count rose by one and Available stayed", byok_count_rose)

    def deactivate():
        b.open(f"/{SLUG}/billing")
        row = b.find(f"tr.byok-key[data-key-id='{state['key_id']}']")
        b.click_and_load(row.find_element(By.CSS_SELECTOR, "button.deactivate"))
        b.confirm(screenshot="confirm")
        assert b.path() == f"/{SLUG}/billing", f"after confirming: {b.path()}"
        status = b.text(f"tr.byok-key[data-key-id='{state['key_id']}'] .status")
        assert status == "inactive", f"the key's status is {status!r}"

    check("deactivating the BYOK key asks for confirmation, then lists it inactive", deactivate)

    def lab_on_credits():
        path = lab_message()
        assert path == "credits", f"#lab-path says {path!r}"
        cost = b.text("#lab-cost")
        assert "credits" in cost and credits(cost.split("credits")[0]) > 0, f"#lab-cost says {cost!r}"
        balance_after = credits(b.text("#lab-balance"))
        b.open(f"/{SLUG}/billing")
        after = b.card("available")
        assert after < state["available"], f"Available {state['available']} → {after}"
        assert balance_after == after, f"the lab said {balance_after} available after, billing says {after}"
        state["available"] = after

    check("with the key inactive, a lab message is paid in credits, Available falls to the lab's balance after", lab_on_credits)

    def usage_chart():
        b.open(f"/{SLUG}/billing")
        bars = driver.find_elements(By.CSS_SELECTOR, "svg#usage-chart rect.bar")
        assert len(bars) == 30, f"{len(bars)} bars in the 30-day chart"
        today = time.strftime("%Y-%m-%d", time.gmtime())
        requests = {bar.get_attribute("data-day"): bar.get_attribute("data-requests") for bar in bars}
        assert requests.get(today) == "2", f"today's bar counts {requests.get(today)} requests, not the 2 lab messages"
        assert driver.find_elements(By.CSS_SELECTOR, "table#usage-by-model tbody tr"), "no usage by model"

    check("billing: the 30-day usage chart counts today's two lab messages", usage_chart)

    def create_api_key():
        b.open(f"/{SLUG}/settings")
        b.fill("form#apikey-create input[name=name]", API_KEY_NAME)
        b.submit("form#apikey-create")
        b.visible("code#new-key")
        key = b.text("code#new-key")
        assert key.startswith("kg_"), "code#new-key holds a kg_ key"
        b.find("button#copy-key")
        assert FULL_KEY.fullmatch(key), "code#new-key holds a whole key (the screenshots' key pattern matches it)"
        state["api_key"] = key
        status, body = http("GET", f"{base}/v1/models", key=key)
        assert status == 200 and b"gpt-5.6-luna" in body, f"/v1/models with the new key: {status}"
        source = b.open(f"/{SLUG}/settings")
        assert not b.has("code#new-key") and key not in source, "the new key is shown again after a reload"
        names = [r.text.strip() for r in driver.find_elements(By.CSS_SELECTOR, "tr.api-key .name")]
        assert API_KEY_NAME in names, f"the key is not listed by name: {names}"
        # Screenshotted now, with the key listed by its preview only: the page that showed it whole is never taken.
        b.shot("settings")

    check("settings: a new API key is shown once (gone after a reload) and works on /v1/models", create_api_key)

    def revoke_api_key():
        assert "api_key" in state, "no API key was created by the check before"
        b.open(f"/{SLUG}/settings")
        rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "tr.api-key")
                if r.find_element(By.CSS_SELECTOR, ".name").text.strip() == API_KEY_NAME]
        assert rows, "the key is listed"
        b.click_and_load(rows[0].find_element(By.CSS_SELECTOR, "button.revoke"))
        b.confirm()
        # Servers cache a key's record for 1 s (APIKeyCache.ttl): a revoked key stops within that, not at once.
        deadline = time.time() + 5
        while (status := http("GET", f"{base}/v1/models", key=state["api_key"])[0]) != 401 and time.time() < deadline:
            time.sleep(0.1)
        assert status == 401, f"a revoked key still gets {status} after 5 s"

    check("settings: revoking the API key (after confirmation) makes it answer 401", revoke_api_key)

    def fallback_switch():
        b.open(f"/{SLUG}/settings")
        switch = b.find("input#fallback-switch")
        before = switch.is_selected()
        try:
            switch.click()
        except ElementNotInteractableException:  # a switch drawn over a visually hidden checkbox: press its label
            driver.find_element(By.CSS_SELECTOR, "label[for=fallback-switch]").click()
        assert switch.is_selected() != before, "clicking the switch did not change it"
        b.submit("form#fallback-form")
        b.visible("#fallback-notice")
        b.open(f"/{SLUG}/settings")
        assert b.find("input#fallback-switch").is_selected() != before, "the switch did not stay changed"

    check("settings: the fallback switch saves, shows #fallback-notice and stays changed", fallback_switch)

    def buy_pack():
        b.open(f"/{SLUG}/billing")
        before = b.card("available")
        forms = [f for f in driver.find_elements(By.CSS_SELECTOR, "form.buy")
                 if f.find_element(By.CSS_SELECTOR, "input[name=pack]").get_attribute("value") == PACK]
        assert forms, f"no form.buy for the {PACK} pack"
        forms[0].find_element(By.CSS_SELECTOR, "[type=submit]").click()
        refusals = []  # the console's Content-Security-Policy reports: a refused redirect fails at once

        def at_checkout_or_refused(d):
            refusals.extend(e["message"] for e in d.get_log("browser") if "Content Security Policy" in e["message"])
            return d.current_url.startswith("https://checkout.stripe.com/c/pay/") or refusals

        b.wait(at_checkout_or_refused, timeout=15, message="the browser was not sent to Stripe Checkout")
        assert not refusals, f"the browser refused the redirect to Stripe Checkout: {refusals[0]}"
        session_id = re.search(r"cs_[A-Za-z0-9_]+", driver.current_url).group(0)
        status, event = http("POST", f"{fake_url}/_fake/stripe/checkout/{session_id}/complete",
                             form={"payment_method": "pm_card_visa", "paid": "true"})
        assert status == 200, f"the fake Stripe did not complete the session: {status}"
        status, _ = http("POST", f"{base}/webhooks/stripe", raw=event,
                         headers={"Stripe-Signature": sign(event, WEBHOOK_SECRET), "Content-Type": "application/json"})
        assert status == 200, f"the webhook got {status}"
        b.open(f"/{SLUG}/billing?checkout=success&session_id={session_id}")
        b.visible("#checkout-notice")
        after = b.card("available")
        assert after == before + PACK_CREDITS, f"Available {before} → {after}, expected +{PACK_CREDITS}"
        state["available"] = after

    check("buying a pack: Stripe Checkout, the webhook, then #checkout-notice and Available up by the pack", buy_pack)

    def billing_screens():
        b.open(f"/{SLUG}/billing")
        b.shot("billing")
        try:
            driver.set_window_size(390, 844)
            b.open(f"/{SLUG}/billing")
            width, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            b.shot("billing-phone", whole_page=False)
            assert width <= inner + 1, f"the billing page scrolls sideways at phone width: {width} > {inner}"
        finally:
            driver.set_window_size(1280, 900)

    check("billing at phone width (390×844) has no horizontal scroll", billing_screens)

    def admin_isolation():
        assert b.status_of(f"/{OTHER_SLUG}/billing") == 404, "another org's billing is not 404"
        assert b.status_of(f"/{OTHER_SLUG}/settings") == 404, "another org's settings are not 404"

    check("the admin gets 404 for another org's slug", admin_isolation)

    def signed_out():
        b.logout()
        b.open(f"/{SLUG}/billing")
        assert b.path() == "/login", f"signed out, /{SLUG}/billing showed {b.path()}"

    check("signing out ends the session: billing sends back to /login", signed_out)

    def member_reads():
        b.logout()
        b.login(*MEMBER)
        assert b.path() == f"/{SLUG}/billing", f"the member landed on {b.path()}"
        assert b.card("available") == state["available"], "the member sees the same Available"
        assert not b.has("form.buy"), "a member sees a Buy form"
        assert not b.has("#byok-add"), "a member sees the BYOK add form"
        assert b.has("tr.byok-key"), "a member sees the BYOK keys list"
        assert b.status_of(f"/{OTHER_SLUG}/billing") == 404, "another org's billing is not 404 for a member"
        b.open(f"/{OTHER_SLUG}/billing")
        assert not b.has("#card-available"), "another org's cards are shown"
        b.open(f"/{SLUG}/lab")
        assert b.has("#lab-answer") and not b.has("form#lab-form"), "a member can send lab messages"
        b.open(f"/{SLUG}/settings")
        assert b.has("table#member-list") and not b.has("form#apikey-create"), "a member can create API keys"

    check("a member reads billing, lab and settings without their forms and gets 404 for another org", member_reads)

    def no_secret_in_pages():
        assert len(b.pages) >= 10, f"only {len(b.pages)} pages were seen"
        for url, source in b.pages:
            for secret in (BYOK_SECRET, REFUSED_SECRET):
                assert secret not in source, f"a BYOK secret is in the source of {urllib.parse.urlsplit(url).path}"

    check("no page's source holds a BYOK secret", no_secret_in_pages)

    def ledger_verify():
        result = subprocess.run([keygate, "ledger", "verify"], env=env, capture_output=True, text=True)
        assert result.returncode == 0, (result.stdout + result.stderr)[-500:]

    check("keygate ledger verify passes", ledger_verify)

    def no_secret_at_rest():
        log.flush()
        time.sleep(0.1)  # info lines reach the file in batches
        texts = {"the server log": open(log_path, "rb").read()}
        for name in os.listdir(data_dir):
            if name.startswith("keygate.db"):
                texts[name] = open(os.path.join(data_dir, name), "rb").read()
        assert texts["the server log"] and any(SLUG.encode() in t for t in texts.values()), "the scan read what the server wrote"
        secrets = [BYOK_SECRET, REFUSED_SECRET] + ([state["api_key"]] if "api_key" in state else [])
        for where, text in texts.items():
            for secret in secrets:
                assert secret.encode() not in text, f"a secret (BYOK or API key) is in {where}"

    check("no BYOK secret or API key plaintext in the server log or the database files", no_secret_at_rest)


if __name__ == "__main__":
    sys.exit(main())
