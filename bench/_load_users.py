"""The load bench's users, run by locust in a process of their own (locust patches the standard
library for gevent on import; bench.load, which starts this, stays unpatched).

PMHUB_BENCH_TOKEN=T python -m bench._load_users --host URL --users N --engineers E
    --spawn-rate R --duration S --out F --started F [--floor S]

- PMs sign in through the login form, then browse what PMs open all day (backlog list and
  board, items, the discovery inbox, feedback, insights, search, roadmaps, docs) and edit: new
  items, status changes, item edits, feedback notes; every form is read from the page and posted
  back with its CSRF token, as a browser does.
- Engineers read the REST API with a read-only token: lists, following cursor pages, details.
- One importer uploads a feedback CSV of a few hundred new rows through the import pages
  (upload, map the columns, start), then follows its progress as the page does, so the
  worker imports and tags all through the run.

Every response is checked: its status, and a marker of the page it should be (a page title, a
JSON key). Any other answer, a redirect to the login page included, counts as an error. Writes
the figures (request samples per class, errors with examples, imports) as JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import gevent
from locust import FastHttpUser, between, constant_pacing, events, task
from locust.env import Environment

from bench._load_seed import (
    CUSTOMERS,
    IMPORTER_EMAIL,
    PASSWORD,
    SLUG,
    customer_email,
    pm_email,
)

W = f"/w/{SLUG}"
API = f"/api/v1/workspaces/{SLUG}"
IMPORT_ROWS = 300
# The end of every workspace page's title: not the login page, not an error page.
IN_WORKSPACE = " · Bench load · pmhub</title>"
WORDS = ["export", "billing", "slow", "sso", "csv", "mobile", "invoice", "search", "slack"]

SAMPLES: dict[str, list[float]] = {"pm": [], "engineer": [], "importer": []}
ERRORS: dict[str, list[str]] = {"pm": [], "engineer": [], "importer": []}
IMPORTS: list[dict[str, Any]] = []
RECORDING = [True]
FLOOR: dict[str, list[float]] = {"samples": [], "errors": []}
BY_NAME: dict[str, list[float]] = {}
RUN = uuid.uuid4().hex[:8]
RNG = random.Random()  # noqa: S311 - the shape of the load, not secrets.


# --- HTML forms, read as a browser reads them -------------------------------------------------
class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                          "fields": {}, "names": set()}  # fmt: skip
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name", "")
        if tag in ("input", "select", "textarea") and name:
            self._form["names"].add(name)
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].setdefault(name, a.get("value", "on"))
                return
            self._form["fields"].setdefault(name, a.get("value", ""))
        elif tag == "select":
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._form is not None and self._select:
            chosen = [v for v, selected in self._options if selected] or [
                v for v, _ in self._options[:1]
            ]
            if chosen:
                self._form["fields"].setdefault(self._select, chosen[0])
            self._select = None
        elif tag == "textarea" and self._form is not None and self._textarea:
            self._form["fields"].setdefault(self._textarea, "".join(self._text).lstrip("\n"))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def forms_in(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_posting_to(html: str, suffix: str, field: str) -> dict[str, Any] | None:
    """The page's POST form whose action ends with `suffix` and which has `field`."""
    for form in forms_in(html):
        path = urlsplit(form["action"]).path
        if form["method"] == "post" and path.endswith(suffix) and field in form["names"]:
            return form
    return None


def ids_in(html: str, pattern: str) -> list[int]:
    return sorted({int(m) for m in re.findall(pattern, html)})


# --- users --------------------------------------------------------------------------------------
class _Browser(FastHttpUser):
    abstract = True
    label = ""
    # A page that takes this long has failed the person waiting for it.
    network_timeout = 30.0
    connection_timeout = 30.0

    def context(self) -> dict[str, Any]:
        return {"cls": self.label}

    def check(self, response: Any, name: str, status: int, marker: str) -> bool:
        """Pass the response when it has `status` and `marker`, else fail it (an error)."""
        text = response.text or ""
        if response.status_code != status:
            response.failure(f"{name}: status {response.status_code}")
        elif marker not in text:
            title = re.search(r"<title>(.*?)</title>", text, re.DOTALL)
            shown = title.group(1).strip() if title else text[:200]
            response.failure(f"{name}: no {marker!r} in {shown!r}")
        else:
            response.success()
            return True
        return False

    def form(self, html: str | None, suffix: str, field: str, name: str) -> dict[str, Any] | None:
        """The form to fill on a page; a page without it is an error (one already failed
        is not counted twice)."""
        if html is None:
            return None
        form = form_posting_to(html, suffix, field)
        if form is None:
            self.environment.events.request.fire(
                request_type="CHECK", name=name, response_time=0, response_length=0,
                exception=AssertionError(f"{name}: no form with {field!r}"), context=self.context(),
            )  # fmt: skip
        return form

    def page(self, url: str, name: str, marker: str, **kwargs: Any) -> str | None:
        with self.client.get(url, name=name, catch_response=True, **kwargs) as response:
            return response.text if self.check(response, name, 200, marker) else None

    def post_form(self, url: str, name: str, fields: dict[str, Any], location: str) -> str | None:
        """POST a form; it must redirect (302) to a URL containing `location`: that URL."""
        body = urlencode(fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.host + url}
        with self.client.post(
            url, name=name, data=body, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            where = response.headers.get("location", "") if response.headers else ""
            if response.status_code != 302:
                response.failure(f"{name}: status {response.status_code}: {response.text[:300]!r}")
            elif location not in where:
                response.failure(f"{name}: redirected to {where!r}")
            else:
                response.success()
                return where
        return None

    def login(self, email: str) -> None:
        html = self.page("/accounts/login/", "login form", 'name="password"')
        form = self.form(html, "/accounts/login/", "password", "login form")
        if form is None:
            return
        fields = {**form["fields"], "username": email, "password": PASSWORD}
        if self.post_form("/accounts/login/", "login", fields, "/"):
            self.page(f"{W}/", "workspace home", "Bench load")


class Pm(_Browser):
    """A product manager: reads a page every few seconds, edits now and then."""

    label = "pm"
    weight = 1
    wait_time = between(3, 12)
    number = 0

    def on_start(self) -> None:
        Pm.number += 1
        self.email = pm_email(Pm.number)
        self.items: list[int] = []
        self.mine: list[int] = []
        self.feedback: list[int] = []
        self.insights: list[int] = []
        self.roadmaps: list[int] = []
        self.docs: list[int] = []
        self.login(self.email)
        self.backlog_list()

    # browsing
    @task(8)
    def backlog_list(self) -> None:
        query = RNG.choice(["", "?sort=customers", "?status=planned", "?q=export", "?page=2"])
        html = self.page(f"{W}/backlog/{query}", "pm backlog list", "<title>Backlog ·")
        if html:
            self.items = ids_in(html, rf"{W}/backlog/items/(\d+)/") or self.items

    @task(5)
    def backlog_board(self) -> None:
        self.page(f"{W}/backlog/board/", "pm backlog board", "<title>Backlog board ·")

    @task(12)
    def item_detail(self) -> None:
        if self.items:
            item = RNG.choice(self.items)
            self.page(f"{W}/backlog/items/{item}/", "pm item", 'class="doc-head item-head"')

    @task(6)
    def inbox(self) -> None:
        query = RNG.choice(["", "?status=new", "?source=support", "?page=3", "?sort=oldest"])
        html = self.page(f"{W}/discovery/{query}", "pm inbox", "<title>Inbox ·")
        if html:
            self.feedback = ids_in(html, rf"{W}/discovery/feedback/(\d+)/") or self.feedback

    @task(6)
    def feedback_detail(self) -> None:
        if self.feedback:
            one = RNG.choice(self.feedback)
            self.page(f"{W}/discovery/feedback/{one}/", "pm feedback", "<title>Feedback ·")

    @task(4)
    def search(self) -> None:
        word = RNG.choice(WORDS)
        self.page(f"{W}/discovery/search/?q={word}", "pm search", "· Search ·")

    @task(3)
    def insight_list(self) -> None:
        html = self.page(f"{W}/discovery/insights/", "pm insights", "<title>Insights ·")
        if html:
            self.insights = ids_in(html, rf"{W}/discovery/insights/(\d+)/") or self.insights

    @task(2)
    def insight_detail(self) -> None:
        if self.insights:
            one = RNG.choice(self.insights)
            self.page(f"{W}/discovery/insights/{one}/", "pm insight", IN_WORKSPACE)

    @task(2)
    def roadmap_index(self) -> None:
        html = self.page(f"{W}/roadmap/", "pm roadmaps", "<title>Roadmaps ·")
        if html:
            self.roadmaps = ids_in(html, rf"{W}/roadmap/roadmaps/(\d+)/") or self.roadmaps

    @task(4)
    def roadmap_detail(self) -> None:
        if self.roadmaps:
            one = RNG.choice(self.roadmaps)
            self.page(f"{W}/roadmap/roadmaps/{one}/", "pm roadmap", IN_WORKSPACE)

    @task(2)
    def docs_index(self) -> None:
        html = self.page(f"{W}/docs/", "pm docs", "<title>Docs ·")
        if html:
            self.docs = ids_in(html, rf"{W}/docs/(\d+)/") or self.docs

    @task(4)
    def doc_detail(self) -> None:
        if self.docs:
            one = RNG.choice(self.docs)
            self.page(f"{W}/docs/{one}/", "pm doc", IN_WORKSPACE)

    # editing
    @task(2)
    def item_create(self) -> None:
        html = self.page(f"{W}/backlog/items/new/", "pm item new form", 'name="title"')
        form = self.form(html, "/backlog/items/new/", "title", "pm item new form")
        if form is None:
            return
        fields = {
            **form["fields"],
            "title": f"{RNG.choice(WORDS).capitalize()} idea from {self.email} {RUN}",
            "description": "Customers keep asking.\n\n- one\n- two",
            "kind": RNG.choice(["idea", "feature"]),
        }
        where = self.post_form(f"{W}/backlog/items/new/", "pm item create", fields, "/items/")
        created = ids_in(where or "", r"/items/(\d+)/")
        if created:
            self.mine.append(created[0])
            self.page(where, "pm item", 'class="doc-head item-head"')

    @task(3)
    def item_status(self) -> None:
        pool = self.mine or self.items
        if not pool:
            return
        item = RNG.choice(pool)
        url = f"{W}/backlog/items/{item}/"
        html = self.page(url, "pm item", 'class="doc-head item-head"')
        if html is None:
            return
        choices = [
            form for form in forms_in(html)
            if form["action"].endswith("/status/") and form["fields"].get("status") != "declined"
        ]  # fmt: skip
        if choices:
            form = RNG.choice(choices)
            if self.post_form(form["action"], "pm item status", form["fields"], url):
                self.page(url, "pm item", 'class="doc-head item-head"')

    @task(2)
    def item_edit(self) -> None:
        # Their own items: two people editing one item at once get the conflict page, by design.
        if not self.mine:
            return
        item = RNG.choice(self.mine)
        url = f"{W}/backlog/items/{item}/"
        html = self.page(url, "pm item", 'class="doc-head item-head"')
        form = self.form(html, "/edit/", "version", "pm item edit form")
        if form is None:
            return
        fields = {**form["fields"], "description": f"Updated at {time.time():.0f}.\n\nMore detail."}
        if self.post_form(form["action"].split("#")[0], "pm item edit", fields, url):
            self.page(url, "pm item", 'class="doc-head item-head"')

    @task(2)
    def feedback_add(self) -> None:
        url = f"{W}/discovery/feedback/new/"
        html = self.page(url, "pm feedback new form", 'name="text"')
        form = self.form(html, "", "text", "pm feedback new form")
        if form is None:
            return
        fields = {
            **form["fields"],
            "text": f"Call note {RUN}: the {RNG.choice(WORDS)} flow confuses new admins.",
        }
        where = self.post_form(url, "pm feedback add", fields, "/discovery/")
        if where:
            self.page(where, "pm feedback added", IN_WORKSPACE)


class Engineer(_Browser):
    """An engineer's script or tool reading the API with a read-only token."""

    label = "engineer"
    weight = 0
    fixed_count = 1
    wait_time = between(1, 5)
    token = ""

    def on_start(self) -> None:
        self.client.auth_header = f"Bearer {self.token}"
        self.items: list[int] = []
        self.feedback: list[int] = []
        self.docs: list[int] = []
        self.roadmaps: list[int] = []
        self.item_list()

    def api(self, url: str, name: str, key: str) -> Any:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{name}: status {response.status_code}")
                return None
            try:
                data = json.loads(response.text)
            except ValueError:
                response.failure(f"{name}: not JSON: {response.text[:200]!r}")
                return None
            if not isinstance(data, dict) or key not in data:
                response.failure(f"{name}: no {key!r} in {response.text[:200]!r}")
                return None
            response.success()
            return data

    def listing(self, url: str, name: str) -> list[int]:
        data = self.api(url, name, "results")
        if data is None:
            return []
        ids = [row["id"] for row in data["results"]]
        if data.get("next") and RNG.random() < 0.3:
            self.api(data["next"], f"{name} next page", "results")
        return ids

    @task(5)
    def item_list(self) -> None:
        query = RNG.choice(["", "?status=planned", "?kind=feature"])
        self.items = self.listing(f"{API}/items/{query}", "api items") or self.items

    @task(5)
    def item_detail(self) -> None:
        if self.items:
            self.api(f"{API}/items/{RNG.choice(self.items)}/", "api item", "id")

    @task(4)
    def feedback_list(self) -> None:
        self.feedback = self.listing(f"{API}/feedback/", "api feedback") or self.feedback

    @task(3)
    def feedback_detail(self) -> None:
        if self.feedback:
            self.api(f"{API}/feedback/{RNG.choice(self.feedback)}/", "api feedback one", "id")

    @task(2)
    def roadmaps(self) -> None:
        self.roadmaps = self.listing(f"{API}/roadmaps/", "api roadmaps") or self.roadmaps

    @task(1)
    def placements(self) -> None:
        if self.roadmaps:
            one = RNG.choice(self.roadmaps)
            self.listing(f"{API}/roadmaps/{one}/placements/", "api placements")

    @task(2)
    def documents(self) -> None:
        self.docs = self.listing(f"{API}/documents/", "api documents") or self.docs

    @task(2)
    def document(self) -> None:
        if self.docs:
            self.api(f"{API}/documents/{RNG.choice(self.docs)}/", "api document", "id")

    @task(1)
    def insights(self) -> None:
        self.listing(f"{API}/insights/", "api insights")


class Importer(_Browser):
    """Someone who uploads the support tool's weekly export, a few times a minute here."""

    label = "importer"
    weight = 0
    fixed_count = 1
    wait_time = constant_pacing(30)
    count = 0

    def on_start(self) -> None:
        self.login(IMPORTER_EMAIL)

    def csv(self) -> bytes:
        Importer.count += 1
        rows = ["id,text,email,received_at"] + [
            f"load-{RUN}-{Importer.count}-{i},"
            f"{RNG.choice(WORDS).capitalize()} {RNG.choice(WORDS)} is broken for us"
            f" since the update (ticket {RUN}-{Importer.count}-{i}),"
            f"{customer_email(RNG.randrange(CUSTOMERS))},"
            f"2026-11-{RNG.randrange(1, 26):02d}T09:00:00Z"
            for i in range(IMPORT_ROWS)
        ]
        return ("\n".join(rows) + "\n").encode()

    @task
    def upload(self) -> None:
        url = f"{W}/discovery/imports/new/"
        html = self.page(url, "import form", 'name="file"')
        form = self.form(html, "", "file", "import form")
        if form is None:
            return
        boundary = uuid.uuid4().hex
        parts = [
            *(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                for name, value in {**form["fields"], "kind": "feedback_csv"}.items()
            ),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="support-{RUN}-{Importer.count + 1}.csv"\r\nContent-Type: text/csv\r\n\r\n',
        ]
        body = "".join(parts).encode() + self.csv() + f"\r\n--{boundary}--\r\n".encode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Referer": self.host + url,
        }
        with self.client.post(
            url, name="import upload", data=body, headers=headers, allow_redirects=False,
            catch_response=True,
        ) as response:  # fmt: skip
            where = response.headers.get("location", "") if response.headers else ""
            if response.status_code != 302 or "/map/" not in where:
                response.failure(f"import upload: {response.status_code} {where!r}")
                return
            response.success()
        html = self.page(where, "import map form", IN_WORKSPACE)
        form = self.form(html, "/map/", "text", "import map form")
        if form is None:
            return
        detail = self.post_form(
            where, "import start", {**form["fields"], "action": "start"}, "/imports/"
        )
        if detail is None:
            return
        started = time.monotonic()
        while time.monotonic() - started < 300:
            progress = self.page(
                detail, "import progress", 'id="import-progress"', headers={"HX-Request": "true"}
            )
            if progress is None:
                return
            if 'hx-trigger="every 1s"' not in progress:
                created = re.search(r"<dt>Created</dt><dd>(\d+)</dd>", progress)
                IMPORTS.append({"seconds": round(time.monotonic() - started, 1),
                                "created": int(created.group(1)) if created else 0})  # fmt: skip
                return
            gevent.sleep(2)


class Floor(FastHttpUser):
    """The harness's ceiling: a static file (WhiteNoise, before any view), no think time."""

    label = "floor"
    wait_time = constant_pacing(0)

    def context(self) -> dict[str, Any]:
        return {"cls": self.label}

    @task
    def static(self) -> None:
        with self.client.get("/static/css/app.css", catch_response=True) as response:
            if response.status_code == 200 and ".btn" in (response.text or ""):
                response.success()
            else:
                response.failure(f"static: status {response.status_code}")


# --- the run ------------------------------------------------------------------------------------
@events.request.add_listener
def _record(
    request_type: str,
    response_time: float,
    context: dict[str, Any],
    exception: Any,
    name: str,
    **_: Any,
) -> None:
    label = context.get("cls", "pm")
    if label == "floor":
        FLOOR["errors" if exception else "samples"].append(response_time)
        return
    if not RECORDING[0]:
        return  # the users stopped mid-request at the end of the run
    if request_type != "CHECK":  # a check of a page already timed
        SAMPLES[label].append(response_time)
        BY_NAME.setdefault(name, []).append(response_time)
    if exception is not None and len(ERRORS[label]) < 20:
        ERRORS[label].append(f"{name}: {exception}"[:500])
    elif exception is not None:
        ERRORS[label].append("")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--engineers", type=int, required=True)
    parser.add_argument("--spawn-rate", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--floor", type=float, default=10)
    parser.add_argument("--floor-users", type=int, default=10)
    parser.add_argument("--started", required=True)
    args = parser.parse_args()

    # The floor first, on the server as it starts the run (bench.load times the run from the
    # --started file on).
    floor_s = 0.0
    if args.floor:
        floor = Environment(user_classes=[Floor], host=args.host, events=events)
        floor_runner = floor.create_local_runner()
        floor_runner.start(args.floor_users, spawn_rate=args.floor_users)
        floor_started = time.monotonic()
        gevent.sleep(args.floor)
        floor_s = time.monotonic() - floor_started
        floor_runner.quit()

    # From the environment, not the command line, which any process can read.
    Engineer.token = os.environ["PMHUB_BENCH_TOKEN"]
    Engineer.fixed_count = args.engineers
    environment = Environment(user_classes=[Pm, Engineer, Importer], host=args.host, events=events)
    runner = environment.create_local_runner()
    cpu_before = time.process_time()
    Path(args.started).touch()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    started = time.monotonic()
    gevent.sleep(args.duration)
    elapsed = time.monotonic() - started
    counts = dict(runner.user_classes_count)
    RECORDING[0] = False
    runner.quit()
    cpu_s = time.process_time() - cpu_before
    with Path(args.out).open("w") as out:
        json.dump(
            {
                "duration_s": elapsed,
                "cpu_s": cpu_s,
                "floor": {**FLOOR, "duration_s": floor_s, "users": args.floor_users},
                "samples": SAMPLES,
                "by_name": BY_NAME,
                "errors": {k: len(v) for k, v in ERRORS.items()},
                "error_examples": [e for v in ERRORS.values() for e in v if e][:20],
                "imports": IMPORTS,
                "run": RUN,
                "user_counts": counts,
            },
            out,
        )


if __name__ == "__main__":
    main()
