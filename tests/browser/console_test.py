#!/usr/bin/env python3
"""The web console in a real headless Chromium against a real rosterd (issue 16).

Each test starts its own rosterd on a free loopback port (--listen 127.0.0.1:0, the port read from
its "listening on" line) with a fresh data directory, reads the operator token it bootstraps, sets
the scene through the API and drives the page with Selenium. Every test saves a screenshot into
$ROSTER_BROWSER_OUT (the build dir's browser/ by ctest) and prints its timings.

Run one: ROSTERD=build/rosterd python3 tests/browser/console_test.py console.test_live_change_appears
"""
import concurrent.futures
import http.client
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

ROSTERD = os.environ.get("ROSTERD", "build/rosterd")
OUT = os.environ.get("ROSTER_BROWSER_OUT", os.getcwd())
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT = 10  # seconds: a safety limit, never a pace


class rosterd:
    """A rosterd child process on 127.0.0.1 and an API client for it."""

    def __init__(self, args=()):
        self.dir = tempfile.mkdtemp(prefix="roster-browser-")
        self.log = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen([ROSTERD, "--listen", "127.0.0.1:0", "--data-dir", os.path.join(self.dir, "data"),
                                      *args], stdout=subprocess.PIPE, stderr=self.log)
        self.port = None
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            if line.startswith("listening on 127.0.0.1:"):
                self.port = int(line.rsplit(":", 1)[1])
                break
        if not self.port:
            self.stop()
            raise RuntimeError("rosterd did not report its port")
        with open(os.path.join(self.dir, "data", "operator.token")) as f:
            self.operator = f.readline().strip()
        self.base = f"http://127.0.0.1:{self.port}"

    def call(self, method, path, body=None, token=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.operator}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=WAIT) as r:
                text = r.read()
                is_json = "json" in (r.headers.get("Content-Type") or "")
                return r.status, (json.loads(text) if text and is_json else text), r.headers
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, (json.loads(text) if text else None), e.headers

    def must(self, method, path, body=None, status=200, token=None):
        got, doc, _ = self.call(method, path, body, token)
        if got != status:
            raise AssertionError(f"{method} {path} answered {got}: {doc}")
        return doc

    def open_account(self, account):
        self.must("POST", "/v1/accounts", {"id": account, "name": f"{account} Inc", "kind": "customer"}, 201)

    def create_user(self, account, email, name, roles):
        doc = self.must("POST", f"/v1/accounts/{account}/users", {"email": email, "name": name, "roles": roles}, 201)
        return doc["user"]["id"]

    def token_for(self, uid):
        return self.must("POST", "/v1/tokens", {"principal": {"user_id": uid}}, 201)["token"]

    def seed_users(self, account, count, threads=16):
        """count members named "Load User <i>", through the API, over keep-alive connections in
        parallel (the operator is not rate limited); returns the seconds it took."""
        headers = {"Authorization": f"Bearer {self.operator}", "Content-Type": "application/json"}

        def work(first):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
            for i in range(first, count, threads):
                body = {"email": f"load{i}@{account}.test", "name": f"Load User {i}", "roles": {"support": ["viewer"]},
                        "invite": False}
                conn.request("POST", f"/v1/accounts/{account}/users", json.dumps(body), headers)
                r = conn.getresponse()
                text = r.read()
                if r.status != 201:
                    raise AssertionError(f"seeding user {i}: {r.status} {text[:200]}")
            conn.close()

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(threads)))
        return time.monotonic() - t0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def chromium():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1360,860",
              "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if os.path.exists("/usr/bin/chromium"):
        opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


class browser_case(unittest.TestCase):
    """A rosterd with account acme and its admin Ada, and a headless Chromium."""

    def setUp(self):
        # A test may ask for rosterd flags (e.g. checkpoints signed quickly) with a rosterd_args attribute.
        self.server = rosterd(getattr(getattr(self, self._testMethodName), "rosterd_args", ()))
        self.addCleanup(self.server.stop)
        self.server.open_account("acme")
        self.admin = self.server.create_user("acme", "ada@acme.com", "Ada Admin",
                                             {"support": ["admin"], "impact": ["admin"], "learning": ["admin"]})
        self.driver = chromium()
        self.addCleanup(self.driver.quit)
        # The page re-renders what changes: an element found a moment ago may be replaced meanwhile.
        self.wait = WebDriverWait(self.driver, WAIT, poll_frequency=0.01,
                                  ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

    def tearDown(self):
        os.makedirs(OUT, exist_ok=True)
        self.driver.save_screenshot(os.path.join(OUT, f"{self._testMethodName}.png"))
        # A script error or a CSP violation fails the test (answers the test provokes, a 403 or a
        # 412, are logged as "Failed to load resource" and are expected).
        errors = [e for e in self.driver.get_log("browser")
                  if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
        self.assertEqual(errors, [])

    # ---- helpers ----
    def find(self, css):
        return self.wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def sign_in_as_operator(self):
        d = self.driver
        d.get(self.server.base + "/")
        load_ms = d.execute_script("return performance.getEntriesByType('navigation')[0].loadEventEnd;")
        box = self.find("#token")
        t0 = time.monotonic()
        box.send_keys(self.server.operator, Keys.ENTER)
        self.find(f"#user-rows tr[data-user='{self.admin}']")
        self.wait.until(lambda d: d.find_element(By.ID, "live-state").get_attribute("data-state") == "live")
        return load_ms, (time.monotonic() - t0) * 1000

    def row(self, uid):
        return self.find(f"#user-rows tr[data-user='{uid}']")

    def set_slider(self, position):
        self.driver.execute_script(
            "const s = document.getElementById('as-of'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));", str(position))


class console(browser_case):
    def test_sign_in_create_in_three_portals_and_search(self):
        load_ms, list_ms = self.sign_in_as_operator()
        sizes = self.driver.execute_script(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
            ".filter(e => !e.name.includes('/v1/')).reduce((n, e) => n + e.decodedBodySize, 0);")
        print(f"\ntiming: page load {load_ms:.0f} ms; sign-in to first list {list_ms:.0f} ms; console assets {sizes} bytes")
        self.assertLess(sizes, 200 * 1024)
        # The token never reaches a URL.
        self.assertNotIn(self.server.operator, self.driver.current_url)

        self.find("#create-open").click()
        self.find("#c-name").send_keys("Grace Hopper")
        self.find("#c-email").send_keys("grace@acme.com")
        Select(self.find("#c-role-support")).select_by_value("contributor")
        Select(self.find("#c-role-impact")).select_by_value("member")
        Select(self.find("#c-role-learning")).select_by_value("learner")
        self.find("#c-submit").click()
        secret = self.find("#c-secret").text
        self.assertTrue(secret.startswith("ris_"), secret)
        self.driver.find_element(By.CSS_SELECTOR, "dialog .actions .ghost").click()

        found = self.server.must("GET", "/v1/accounts/acme/users?q=grace")["users"]
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0]["roles"], {"support": ["contributor"], "impact": ["member"], "learning": ["learner"]})

        self.find("#q").send_keys("grace")
        self.wait.until(lambda d: d.find_element(By.ID, "users-view").get_attribute("data-total") == "1")
        row = self.row(found[0]["id"])
        self.assertIn("support: contributor", row.text)
        self.assertIn("impact: member", row.text)
        self.assertIn("learning: learner", row.text)
        self.find("#q").send_keys("zzz-nobody")
        self.assertIn("No user matches", self.find("#empty").text)

    def test_lock_and_unlock_with_a_reason(self):
        uid = self.server.create_user("acme", "lin@acme.com", "Lin Locke", {"support": ["viewer"]})
        self.sign_in_as_operator()
        self.row(uid).find_element(By.CSS_SELECTOR, "button.link").click()
        switch = self.find("#p-active")
        self.assertTrue(switch.is_selected())
        switch.click()  # no reason yet: refused by the page, nothing sent
        self.assertIn("reason", self.find("#p-error").text)
        self.assertTrue(switch.is_selected())
        self.find("#p-reason").send_keys("left the company")
        switch.click()
        self.wait.until(lambda d: d.find_element(By.ID, "p-status").text == "locked")
        self.assertEqual(self.server.must("GET", f"/v1/accounts/acme/users/{uid}")["user"]["status"], "locked")
        self.driver.save_screenshot(os.path.join(OUT, "lock_panel.png"))
        self.find("#p-reason").send_keys("came back")
        switch.click()
        self.wait.until(lambda d: d.find_element(By.ID, "p-status").text == "active")
        self.assertEqual(self.server.must("GET", f"/v1/accounts/acme/users/{uid}")["user"]["status"], "active")
        history = self.server.must("GET", f"/v1/users/{uid}/history")["events"]
        self.assertEqual([e["reason"] for e in history if e["type"] in ("user_locked", "user_unlocked")],
                         ["left the company", "came back"])

    def test_removal_shows_the_impact_and_refuses_a_stale_version(self):
        uid = self.server.create_user("acme", "rae@acme.com", "Rae Removed", {"support": ["contributor"], "impact": ["member"]})
        self.sign_in_as_operator()
        self.row(uid).find_element(By.CSS_SELECTOR, "button.link").click()
        self.find("#p-remove").click()
        impact = self.find("#r-impact")
        self.wait.until(lambda d: "revoke" in d.find_element(By.ID, "r-impact").text)
        self.assertIn("support: contributor", impact.text)
        self.assertIn("impact: member", impact.text)
        self.assertIn("retire the profile", impact.text)
        self.assertNotIn("learning", impact.text)
        self.driver.save_screenshot(os.path.join(OUT, "removal_dialog.png"))
        # A change elsewhere in the account leaves this user's version, and so the preview, current
        # (each user is its own resource); a change to this user while the dialog is open makes it stale.
        self.server.create_user("acme", "zed@acme.com", "Zed Newcomer", {"support": ["viewer"]})
        self.server.must("POST", f"/v1/accounts/acme/users/{uid}/roles", {"grant": {"learning": ["learner"]}})
        self.find("#r-confirm").click()
        self.wait.until(lambda d: "changed since this preview" in d.find_element(By.ID, "r-error").text)
        self.assertEqual(self.server.must("GET", f"/v1/accounts/acme/users/{uid}")["user"]["status"], "active")
        # The refreshed preview shows the new role and carries the new version: confirming again removes.
        self.wait.until(lambda d: "learning: learner" in d.find_element(By.ID, "r-impact").text)
        self.wait.until(ec.element_to_be_clickable((By.ID, "r-confirm"))).click()
        self.wait.until(ec.invisibility_of_element_located((By.ID, "r-confirm")))
        status, _, _ = self.server.call("GET", f"/v1/accounts/acme/users/{uid}")
        self.assertIn(status, (200, 404))
        got = self.server.must("GET", "/v1/accounts/acme/users?status=removed")["users"]
        self.assertIn(uid, [u["id"] for u in got])

    def test_live_change_appears_without_reload(self):
        self.sign_in_as_operator()
        self.driver.execute_script("window.not_reloaded = true;")
        latencies = []
        for i in range(5):
            t0 = time.monotonic()
            uid = self.server.create_user("acme", f"live{i}@acme.com", f"Live User {i}", {"learning": ["learner"]})
            self.row(uid)
            latencies.append((time.monotonic() - t0) * 1000)
        # A dropped connection resumes from the last position: nothing lost while it was down.
        self.driver.execute_script("window.roster_console.stream.drop();")
        uid = self.server.create_user("acme", "after-drop@acme.com", "After Drop", {"learning": ["learner"]})
        self.row(uid)
        self.server.must("POST", f"/v1/users/{uid}/lock", {"reason": "live check"})
        # The list shows active users: the locked one leaves it.
        self.wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, f"#user-rows tr[data-user='{uid}']")))
        self.assertTrue(self.driver.execute_script("return window.not_reloaded === true;"))
        feed = self.find("#feed").text
        self.assertIn("user locked", feed)
        self.assertIn("live check", feed)
        positions = self.driver.execute_script(
            "return [...document.querySelectorAll('#feed li')].map(li => Number(li.dataset.position));")
        self.assertEqual(len(positions), len(set(positions)), "an event shown twice")
        latencies.sort()
        print(f"\ntiming: API change to visible row: median {latencies[len(latencies) // 2]:.0f} ms, "
              f"max {latencies[-1]:.0f} ms (of {len(latencies)})")
        self.assertLess(latencies[-1], 1000)

    def test_time_slider_shows_an_earlier_state(self):
        uid = self.server.create_user("acme", "tim@acme.com", "Tim Travel", {"support": ["viewer"]})
        created_at = self.server.must("GET", "/v1/accounts/acme/stats")["position"]
        self.server.must("POST", f"/v1/users/{uid}/lock", {"reason": "slider"})
        self.sign_in_as_operator()
        self.find("#f-inactive").click()
        self.wait.until(lambda d: self.row(uid).get_attribute("data-status") == "locked")
        self.set_slider(created_at)
        self.wait.until(lambda d: f"as of position {created_at}" in d.find_element(By.ID, "counts").text)
        self.assertEqual(self.row(uid).get_attribute("data-status"), "active")
        self.assertTrue(self.find("#create-open").get_attribute("disabled"))
        before = self.server.must("GET", f"/v1/users/{uid}/history")["events"][0]["position"] - 1
        self.set_slider(before)
        self.wait.until(lambda d: f"as of position {before}" in d.find_element(By.ID, "counts").text)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, f"#user-rows tr[data-user='{uid}']"), [])
        self.find("#as-of-now").click()
        self.wait.until(lambda d: self.row(uid).get_attribute("data-status") == "locked")
        # The reviewer's timeline names who did what, from what to what, and why.
        self.driver.find_element(By.CSS_SELECTOR, "#nav [data-view='timeline']").click()
        rows = self.find("#timeline-rows")
        self.wait.until(lambda d: "user locked" in rows.text)
        self.assertIn("slider", rows.text)
        self.assertIn("→", rows.text)

    def test_key_contacts_saved_with_a_warning_shown(self):
        self.sign_in_as_operator()
        self.driver.find_element(By.CSS_SELECTOR, "#nav [data-view='contacts']").click()
        Select(self.find("#contact-primary_customer_admin")).select_by_value(self.admin)
        Select(self.find("#contact-primary_support")).select_by_value(self.admin)
        self.find("#contacts-save").click()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#contact-warnings li[data-code='no_security_contact']"))
        self.assertIn("No security contact is set.", self.find("#contact-warnings").text)
        saved = self.server.must("GET", "/v1/accounts/acme/contacts")
        self.assertEqual(saved["contacts"]["primary_support"]["id"], self.admin)
        self.assertEqual(saved["contacts"]["primary_customer_admin"]["id"], self.admin)
        # A second save from a page that read an older version is refused, not silently applied.
        self.server.must("PUT", "/v1/accounts/acme/contacts", {"security": self.admin})
        Select(self.find("#contact-primary_support")).select_by_value("")
        self.find("#contacts-save").click()
        self.wait.until(lambda d: "changed the account meanwhile" in d.find_element(By.ID, "contacts-error").text)
        self.assertEqual(self.server.must("GET", "/v1/accounts/acme/contacts")["contacts"]["primary_support"]["id"], self.admin)

    def nav(self, view):
        self.driver.find_element(By.CSS_SELECTOR, f"#nav [data-view='{view}']").click()

    def sign_in_with(self, token, fragment=""):
        self.driver.get(self.server.base + "/" + fragment)
        self.find("#token").send_keys(token, Keys.ENTER)

    def test_user_removed_from_an_account_sees_not_a_member(self):
        s = self.server
        s.must("POST", "/v1/accounts", {"id": "parts", "name": "Parts Ltd", "kind": "partner"}, 201)
        status, doc, _ = s.call("POST", "/v1/accounts/acme/partners", {"partner_id": "parts"})
        self.assertIn(status, (200, 201), doc)
        pat = s.create_user("parts", "pat@parts.com", "Pat Partner", {"support": ["admin"]})
        status, doc, _ = s.call("POST", "/v1/accounts/acme/members", {"user_id": pat, "roles": {"support": ["admin"]}})
        self.assertIn(status, (200, 201), doc)
        self.sign_in_with(s.token_for(pat), "#account=acme")
        self.row(self.admin)
        self.assertEqual(self.find("#account-picker").get_attribute("value"), "acme")
        self.assertFalse(self.driver.find_element(By.ID, "audit-nav").is_displayed())  # reviewers only
        # Removed from the customer account through the API while the page is open: the page says
        # so at once (the stream's change reloads the list, which the API now hides).
        s.must("DELETE", f"/v1/accounts/acme/users/{pat}", status=200)
        self.wait.until(lambda d: d.find_element(By.ID, "denied-message").text == "You are not a member of an Account")
        # And a link or a reload naming that account says the same, not another account's list.
        self.driver.get(s.base + "/#account=acme")
        self.driver.refresh()
        self.wait.until(lambda d: d.find_element(By.ID, "denied-message").text == "You are not a member of an Account")
        self.assertFalse(self.driver.find_element(By.ID, "nav").is_displayed())
        # Their own account is a click away.
        self.find("#denied-home").click()
        self.find("#users-title")
        self.assertIn("parts", self.find("#users-title").text)

    def test_audit_view_verifies_checkpoint_and_downloads_a_pack(self):
        downloads = tempfile.mkdtemp(prefix="roster-downloads-")
        self.addCleanup(shutil.rmtree, downloads, True)
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        self.server.create_user("acme", "eve@acme.com", "Eve Evidence", {"impact": ["member"]})
        head = self.server.must("GET", "/v1/audit/verify")["head_position"]
        self.wait.until(lambda d: self.server.call("GET", "/v1/audit/checkpoint")[0] == 200)
        self.sign_in_as_operator()
        self.nav("audit")
        self.wait.until(lambda d: d.find_element(By.ID, "verify-ok").get_attribute("data-ok") == "true")
        self.assertGreaterEqual(int(self.find("#verify-checked").text), head)
        self.wait.until(lambda d: d.find_element(By.ID, "checkpoint").text.startswith("roster.local/log\n"))
        self.assertIn("— roster.local/log ", self.find("#checkpoint").text)  # the signature line
        self.find("#ev-download").click()
        self.wait.until(lambda d: d.find_element(By.ID, "ev-result").get_attribute("data-bytes"))
        self.driver.save_screenshot(os.path.join(OUT, "audit_view.png"))
        path = os.path.join(downloads, "roster-evidence-acme.tar")
        self.wait.until(lambda d: os.path.exists(path) and os.path.getsize(path) == int(
            d.find_element(By.ID, "ev-result").get_attribute("data-bytes")))
        with tarfile.open(path) as t:
            names = t.getnames()
        self.assertIn("verify.py", [os.path.basename(n) for n in names])
        # The pack verifies offline with its own script (against its own key here; a reviewer pins one).
        tmp = tempfile.mkdtemp(prefix="roster-pack-")
        self.addCleanup(shutil.rmtree, tmp, True)
        with tarfile.open(path) as t:
            script = next(n for n in names if os.path.basename(n) == "verify.py")
            t.extract(script, tmp)
        done = subprocess.run([sys.executable, os.path.join(tmp, script), path], capture_output=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        # The token went in a header, never into a URL the browser kept.
        self.assertNotIn(self.server.operator, self.driver.current_url)
        # An auditor starts on this view, and reads the list without being offered changes.
        auditor = self.server.must("POST", "/v1/tokens", {"principal": {"auditor": True}}, 201)["token"]
        self.find("#sign-out").click()
        self.find("#token").send_keys(auditor, Keys.ENTER)
        self.wait.until(lambda d: d.find_element(By.ID, "verify-ok").get_attribute("data-ok") == "true")
        self.assertEqual(self.find("#who").text, "auditor")
        self.nav("users")
        self.row(self.admin)
        self.assertFalse(self.driver.find_element(By.ID, "create-open").is_displayed())

    test_audit_view_verifies_checkpoint_and_downloads_a_pack.rosterd_args = ("--checkpoint-interval-ms", "100")

    def test_counts_follow_a_lock_made_through_the_api(self):
        uid = self.server.create_user("acme", "cal@acme.com", "Cal Count", {"support": ["viewer"], "impact": ["member"]})
        self.sign_in_as_operator()
        count = lambda k: self.driver.find_element(By.ID, f"stat-{k}").get_attribute("data-count")
        self.wait.until(lambda d: count("active") == "2" and count("locked") == "0")
        self.assertEqual(count("support"), "2")
        self.assertEqual(count("learning"), "1")
        t0 = time.monotonic()
        self.server.must("POST", f"/v1/users/{uid}/lock", {"reason": "counts"})
        self.wait.until(lambda d: count("active") == "1" and count("locked") == "1")
        ms = (time.monotonic() - t0) * 1000
        self.server.must("POST", f"/v1/users/{uid}/unlock", {"reason": "counts"})
        self.wait.until(lambda d: count("active") == "2" and count("locked") == "0")
        print(f"\ntiming: API lock to updated counts {ms:.0f} ms")
        self.assertLess(ms, 1000)

    def test_watchlist_saved_and_a_contact_handed_over(self):
        s = self.server
        bea = s.create_user("acme", "bea@acme.com", "Bea Backup", {"support": ["contributor"]})
        s.must("PUT", "/v1/accounts/acme/contacts", {"primary_customer_admin": self.admin, "primary_support": self.admin})
        # Ada holds primary_support: signed in as herself she may hand it over.
        self.sign_in_with(s.token_for(self.admin))
        self.row(self.admin)
        self.nav("contacts")
        required = self.find("#contacts-table tr[data-role='security']").text
        self.assertIn("support:contributor", required)
        self.assertIn("required · missing", required)
        self.find("#handover-primary_support").click()
        Select(self.find("#handover-to-primary_support")).select_by_value(bea)
        self.find("#handover-confirm-primary_support").click()
        self.wait.until(lambda d: s.must("GET", "/v1/accounts/acme/contacts")["contacts"]["primary_support"]["id"] == bea)
        self.wait.until(lambda d: not d.find_elements(By.ID, "handover-primary_support"))
        # The watchlist: Bea subscribes to outages and security notices.
        Select(self.find("#watch-add")).select_by_value(bea)
        for topic in ("outage", "security"):
            self.find(f"#watchlist-rows tr[data-user='{bea}'] input[data-topic='{topic}']").click()
        self.find("#watchlist-save").click()
        self.wait.until(lambda d: s.must("GET", "/v1/accounts/acme/watchlist")["subscriptions"])
        self.assertEqual(s.must("GET", "/v1/accounts/acme/watchlist")["subscriptions"],
                         [{"user_id": bea, "topics": ["outage", "security"]}])
        # Both saves came from one page: the contacts form still saves (its version followed).
        Select(self.find("#contact-security")).select_by_value(bea)
        self.find("#contacts-save").click()
        self.wait.until(lambda d: (s.must("GET", "/v1/accounts/acme/contacts")["contacts"]["security"] or {}).get("id") == bea)
        self.assertEqual(self.find("#contacts-error").text, "")

    def test_invitation_accepted_without_a_token(self):
        doc = self.server.must("POST", "/v1/accounts/acme/users", {"email": "ivy@acme.com", "name": "Ivy Invited",
                                                                   "roles": {"learning": ["learner"]}, "invite": True}, 201)
        uid, secret = doc["user"]["id"], doc["invitation"]["secret"]
        self.driver.get(self.server.base + "/")
        self.find("#invite-secret").send_keys(secret, Keys.ENTER)
        self.wait.until(lambda d: "Welcome, Ivy Invited" in d.find_element(By.ID, "accept-result").text)
        self.assertEqual(self.find("#invite-secret").get_attribute("value"), "")
        self.assertEqual(self.server.must("GET", f"/v1/accounts/acme/users/{uid}")["user"]["registration"], "registered")
        # Single use: the same secret again is refused with a clear message.
        self.find("#invite-secret").send_keys(secret, Keys.ENTER)
        self.wait.until(lambda d: "invite you again" in d.find_element(By.ID, "accept-result").text)

    def unlabelled_controls(self):
        """The visible form controls a screen reader could not name (no label, aria-label,
        aria-labelledby or text)."""
        return self.driver.execute_script("""
            return [...document.querySelectorAll('input, select, button, textarea')]
              .filter((el) => el.offsetParent !== null || el.closest('dialog[open]'))
              .filter((el) => {
                const by = el.getAttribute('aria-labelledby');
                const named = (el.getAttribute('aria-label') || '').trim()
                  || (by && by.split(' ').some((id) => (document.getElementById(id) || {}).textContent))
                  || [...(el.labels || [])].some((l) => l.textContent.trim())
                  || (el.tagName === 'BUTTON' && el.textContent.trim());
                return !named;
              })
              .map((el) => el.outerHTML.slice(0, 120));""")

    def test_every_control_is_labelled_and_dialogs_work_by_keyboard(self):
        self.server.create_user("acme", "kim@acme.com", "Kim Keys", {"support": ["viewer"]})
        self.sign_in_as_operator()
        problems = {}
        for view, ready in (("users", "#user-rows tr"), ("contacts", "#contacts-save"), ("timeline", "#timeline-rows tr"),
                            ("audit", "#verify-ok")):
            self.nav(view)
            self.find(ready)
            problems[view] = self.unlabelled_controls()
        self.nav("users")
        # Keyboard only: focus a user's name, Enter opens the panel with focus inside it, Escape
        # closes it and gives focus back to where it was.
        opener = self.row(self.admin).find_element(By.CSS_SELECTOR, "button.link")
        self.driver.execute_script("arguments[0].focus();", opener)
        opener.send_keys(Keys.ENTER)
        self.find("dialog[open] #p-active")
        problems["panel"] = self.unlabelled_controls()
        self.assertTrue(self.driver.execute_script("return !!document.activeElement.closest('dialog[open]');"))
        self.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        self.wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog[open]"))
        self.assertTrue(self.driver.execute_script(
            "return document.activeElement === arguments[0];", self.row(self.admin).find_element(By.CSS_SELECTOR, "button.link")))
        self.assertEqual({k: v for k, v in problems.items() if v}, {})

    def test_non_admin_sees_the_seed_message(self):
        viewer = self.server.create_user("acme", "vic@acme.com", "Vic Viewer", {"support": ["viewer"]})
        token = self.server.must("POST", "/v1/tokens", {"principal": {"user_id": viewer}}, 201)["token"]
        self.driver.get(self.server.base + "/")
        self.find("#token").send_keys(token, Keys.ENTER)
        self.assertEqual(self.find("#denied-message").text, "You do not have access to this feature.")


class scale(browser_case):
    """The issue's 100,000 users, seeded through the API: the list is paged by the server, so the page
    holds one page of rows whatever the account's size. ROSTER_BROWSER_USERS sets another size
    (seeding 100,000 took 25 s on 2 shared cores at load 10, ~100 s while a build ran beside it)."""

    users = int(os.environ.get("ROSTER_BROWSER_USERS", "100000"))

    def test_large_account_pages_and_searches_fast(self):
        n = self.users
        seed_s = self.server.seed_users("acme", n)
        d = self.driver
        d.get(self.server.base + "/")
        t0 = time.monotonic()
        self.find("#token").send_keys(self.server.operator, Keys.ENTER)
        self.wait.until(lambda d: d.find_element(By.ID, "users-view").get_attribute("data-total") == str(n + 1))
        first_ms = (time.monotonic() - t0) * 1000
        self.assertEqual(self.find("#stat-active").get_attribute("data-count"), str(n + 1))
        first = lambda: d.execute_script("const r = document.querySelector('#user-rows tr'); return r && r.dataset.user;")
        turns = []
        for _ in range(10):
            before = first()
            t0 = time.monotonic()
            self.find("#next").click()
            self.wait.until(lambda d: first() not in (None, before))
            turns.append((time.monotonic() - t0) * 1000)
        rows = d.execute_script("return document.querySelectorAll('#user-rows tr').length;")
        nodes = d.execute_script("return document.getElementsByTagName('*').length;")
        self.assertEqual(rows, 50)
        self.assertLess(nodes, 2000)
        searches = []
        for i in (n - 1, n // 2 + 7, 12345 % n):
            box = self.find("#q")
            box.clear()
            t0 = time.monotonic()
            box.send_keys(f"load{i}@")
            self.wait.until(lambda d: d.find_element(By.ID, "users-view").get_attribute("data-total") == "1"
                            and first() is not None and f"Load User {i}" in d.find_element(By.ID, "user-rows").text)
            searches.append((time.monotonic() - t0) * 1000)
        turns.sort()
        print(f"\ntiming: {n} users seeded in {seed_s:.1f} s; sign-in to first page {first_ms:.0f} ms; page turn median "
              f"{turns[len(turns) // 2]:.0f} ms, max {turns[-1]:.0f} ms (of {len(turns)}); search to the one match "
              f"{', '.join(f'{x:.0f}' for x in searches)} ms (incl. the 200 ms typing debounce); {rows} rows, {nodes} elements")
        self.assertLess(max(turns), 1000)
        self.assertLess(max(searches), 1500)


class serving(unittest.TestCase):
    """The assets as rosterd serves them: no browser needed."""

    def setUp(self):
        self.server = rosterd()
        self.addCleanup(self.server.stop)

    def fetch(self, path, method="GET", headers=None):
        req = urllib.request.Request(self.server.base + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=WAIT) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def test_assets_are_public_typed_cached_and_locked_down(self):
        status, headers, body = self.fetch("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
        self.assertIn(b'src="/console/app.js"', body)
        csp = headers["Content-Security-Policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["Cache-Control"], "no-cache")
        etag = headers["ETag"]
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        # Revalidation: the same ETag (alone, in a list, or weak) answers 304 without a body.
        for inm in (etag, f'"x", {etag}', f"W/{etag}", "*"):
            status, headers304, body = self.fetch("/", headers={"If-None-Match": inm})
            self.assertEqual((status, body), (304, b""), inm)
            self.assertEqual(headers304["ETag"], etag)
        self.assertEqual(self.fetch("/", headers={"If-None-Match": '"other"'})[0], 200)
        for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css"), ("icon.svg", "image/svg+xml")):
            status, headers, body = self.fetch(f"/console/{name}")
            self.assertEqual(status, 200, name)
            self.assertTrue(headers["Content-Type"].startswith(kind), headers["Content-Type"])
            self.assertNotEqual(headers["ETag"], etag)
        status, headers, body = self.fetch("/console/app.js", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(headers["Content-Length"]), 0)
        status, headers, body = self.fetch("/console/nope.js")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["code"], "not_found")
        self.assertIn(self.fetch("/console/..%2Fmain.cpp")[0], (400, 404))


if __name__ == "__main__":
    unittest.main(verbosity=2)
