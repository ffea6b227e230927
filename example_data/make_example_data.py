"""Generate the example organisation's data: `app.db` (SQLite) and the finance and support CSVs.

Deterministic (one seeded generator, fixed dates), standard library only, so anyone can
regenerate the committed files and get the same numbers:

    python example_data/make_example_data.py

The database holds raw events (users, orders, incidents, deployments, probes, releases,
migrations); the metric queries in `metric_sources/app_db.yaml` aggregate them per day. The
trajectories are shaped so that, as of 2026-11-20, the scoreboard has key results on track,
at risk, off track and achieved (see the comments of each generator).
"""

from __future__ import annotations

import csv
import random
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
YEAR_START = date(2026, 1, 1)
DATA_START = date(2026, 9, 1)
QUARTER_START = date(2026, 10, 1)
DATA_END = date(2026, 11, 24)  # inclusive: a few days after the demo's as-of date 2026-11-20
SEED = 2026

SCHEMA = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    activated_at TEXT,
    plan TEXT NOT NULL,
    country TEXT NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('new', 'upgrade')),
    amount REAL NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    severity INTEGER NOT NULL,
    title TEXT NOT NULL,
    started_at TEXT NOT NULL,
    resolved_at TEXT NOT NULL
);
CREATE TABLE deployments (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('success', 'failed')),
    deployed_at TEXT NOT NULL
);
CREATE TABLE uptime_probes (
    probed_at TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    p95_ms INTEGER NOT NULL
);
CREATE TABLE releases (
    feature TEXT PRIMARY KEY,
    released_at TEXT NOT NULL
);
CREATE TABLE service_migrations (
    service TEXT PRIMARY KEY,
    migrated_at TEXT NOT NULL
);
"""

SERVICES = ["auth", "billing", "search", "notifications", "api", "web", "reports", "exports"]
PLANS = [("starter", 49.0), ("team", 99.0), ("business", 249.0)]
COUNTRIES = ["NO", "SE", "DK", "DE", "GB", "NL", "US"]


def days(first: date, last: date) -> Iterator[date]:
    """Every day from first to last, both included."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(offset)


def stamp(moment: datetime) -> str:
    """Local wall-clock time (Europe/Oslo), as the application writes it."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def at(day: date, rng: random.Random, first_hour: int = 0, last_hour: int = 23) -> datetime:
    seconds = rng.randrange(first_hour * 3600, (last_hour + 1) * 3600)
    return datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)


def quarter_share(day: date) -> float:
    """0 before the quarter, rising to 1 at the demo date: how far a trend has moved."""
    return min(max((day - QUARTER_START).days / 50, 0.0), 1.0)


def users(rng: random.Random) -> list[tuple]:
    """About 39 signups a day (on track for 3,600 in the quarter); week-1 activation creeps
    from 31% to 33% (off track for 45%)."""
    rows = []
    for day in days(DATA_START, DATA_END):
        count = (43 if day.weekday() < 5 else 29) + rng.randint(-4, 4)
        activation = 0.31 + 0.02 * quarter_share(day)
        for _ in range(count):
            created = at(day, rng)
            activated = None
            if rng.random() < activation:
                activated = stamp(created + timedelta(hours=rng.uniform(0.2, 160)))
            elif rng.random() < 0.15:  # activated, but after the first week: not counted
                activated = stamp(created + timedelta(days=rng.uniform(8, 20)))
            plan = rng.choices(["free", "trial"], weights=[3, 1])[0]
            rows.append((stamp(created), activated, plan, rng.choice(COUNTRIES)))
    return rows


def orders(rng: random.Random) -> list[tuple]:
    """1,600 paying customers won before the quarter, then about 3.3 a day (on track for
    1,900); upgrades worth about €650 a day (at risk for €90k in the quarter)."""
    rows = []
    history_days = (QUARTER_START - date(2024, 1, 1)).days
    for _ in range(1600):
        day = date(2024, 1, 1) + timedelta(rng.randrange(history_days))
        plan, price = rng.choice(PLANS)
        rows.append(("new", price, stamp(at(day, rng, 7, 22))))
    for day in days(QUARTER_START, DATA_END):
        for _ in range(rng.choice([2, 3, 3, 4, 4, 4])):
            plan, price = rng.choice(PLANS)
            rows.append(("new", price, stamp(at(day, rng, 7, 22))))
    for day in days(DATA_START, DATA_END):
        for _ in range(rng.choice([1, 2, 2, 3])):
            rows.append(("upgrade", float(rng.randrange(150, 450, 10)), stamp(at(day, rng, 8, 18))))
    rows.sort(key=lambda row: row[2])
    return [(rng.randrange(10_000, 99_999), *row) for row in rows]


INCIDENT_TITLES = [
    "Checkout 502s behind the load balancer",
    "Webhook retries stuck for O'Brien & Sons",
    "Search index lagging behind writes",
    "Login latency above 2 s in eu-north",
    "Invoice PDFs not rendering",
    'Customer reports "Save" button does nothing',
    "Queue backlog in notifications",
    "Expired TLS certificate on status page",
]


def incidents(rng: random.Random) -> list[tuple]:
    """A Sev1/Sev2 about every third day; time to restore falls from 95 to about 65 minutes
    (at risk for 30); Sev3 incidents are noise the metric leaves out."""
    rows = []
    for day in days(DATA_START, DATA_END):
        if rng.random() < 0.36:
            severity = rng.choice([1, 2, 2])
            minutes = 95 - 32 * quarter_share(day) + rng.uniform(-8, 8)
            started = at(day, rng, 6, 20)
            finished = started + timedelta(minutes=minutes)
            rows.append((severity, rng.choice(INCIDENT_TITLES), stamp(started), stamp(finished)))
        if rng.random() < 0.5:
            started = at(day, rng)
            finished = started + timedelta(minutes=rng.uniform(60, 600))
            rows.append((3, rng.choice(INCIDENT_TITLES), stamp(started), stamp(finished)))
    return rows


def deployments(rng: random.Random) -> list[tuple]:
    """Deploys every working day (on track for 60 deploy days); the share of failed deploys
    falls from 18% to 14% (at risk for 8%). Failures are spread evenly, not drawn at random,
    so that each day's rate follows the trend."""
    rows = []
    owed = 0.0
    for day in days(DATA_START, DATA_END):
        if day.weekday() >= 5 and rng.random() > 0.08:
            continue
        count = rng.randint(4, 7) if day.weekday() < 5 else 1
        owed += count * (0.18 - 0.04 * quarter_share(day))
        failures = min(int(owed), count - 1)
        owed -= failures
        for number in range(count):
            status = "failed" if number < failures else "success"
            rows.append((rng.choice(SERVICES), status, stamp(at(day, rng, 8, 17))))
    rows.sort(key=lambda row: row[2])
    return rows


def uptime_probes(rng: random.Random) -> list[tuple]:
    """Hourly probe results (60 probes an hour). Two outages in October's first half, short
    ones since (99.9% over 28 days is met); p95 latency jumps from ~220 ms to ~370 ms on
    2026-11-14 (stay below 300 ms: off track)."""
    outages = {
        datetime(2026, 9, 17, 14): 12,
        datetime(2026, 10, 14, 9): 45,
        datetime(2026, 10, 14, 10): 20,
        datetime(2026, 10, 28, 16): 9,
        datetime(2026, 11, 3, 11): 12,
    }
    rows = []
    for day in days(DATA_START, DATA_END):
        slow = day >= date(2026, 11, 14)
        for hour in range(24):
            moment = datetime(day.year, day.month, day.day, hour)
            p95 = (370 if slow else 220) + rng.randint(-25, 25)
            rows.append((stamp(moment), 60, outages.get(moment, 0), p95))
    return rows


RELEASES = [
    ("usage-billing", datetime(2026, 9, 15, 10, 0)),
    ("audit-log", datetime(2026, 10, 20, 13, 30)),
    ("sso", datetime(2026, 11, 12, 10, 30)),  # the boolean key result: achieved
]
MIGRATIONS = [  # 4 of 8 services on Kubernetes by 2026-11-20: milestone "first 3" done
    ("auth", datetime(2026, 10, 8, 15, 0)),
    ("billing", datetime(2026, 10, 22, 11, 0)),
    ("search", datetime(2026, 11, 5, 14, 0)),
    ("notifications", datetime(2026, 11, 19, 16, 0)),
]


def write_database(path: Path, rng: random.Random) -> None:
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
        connection.executemany(
            "INSERT INTO users (created_at, activated_at, plan, country) VALUES (?, ?, ?, ?)",
            users(rng),
        )
        connection.executemany(
            "INSERT INTO orders (account_id, kind, amount, created_at) VALUES (?, ?, ?, ?)",
            orders(rng),
        )
        connection.executemany(
            "INSERT INTO incidents (severity, title, started_at, resolved_at) VALUES (?, ?, ?, ?)",
            incidents(rng),
        )
        connection.executemany(
            "INSERT INTO deployments (service, status, deployed_at) VALUES (?, ?, ?)",
            deployments(rng),
        )
        connection.executemany("INSERT INTO uptime_probes VALUES (?, ?, ?, ?)", uptime_probes(rng))
        connection.executemany(
            "INSERT INTO releases VALUES (?, ?)", [(f, stamp(t)) for f, t in RELEASES]
        )
        connection.executemany(
            "INSERT INTO service_migrations VALUES (?, ?)", [(s, stamp(t)) for s, t in MIGRATIONS]
        )
    connection.close()
    with sqlite3.connect(path) as connection:
        connection.execute("VACUUM")
    connection.close()


NET_BURN = [320_000, 300_000, 285_000, 260_000, 240_000, 210_000]
NET_BURN += [180_000, 150_000, 120_000, 90_000, 60_000]  # first of each month, Jan..Nov


def finance_rows(rng: random.Random) -> list[tuple]:
    """MRR from €300k (Jan 1) to €412k (Sep 30), then +€570 a day: behind the straight line
    to €500k but on the back-loaded checkpoints; cloud cost from €4,250 to €3,700 a day;
    churned MRR about €290 a day (off track for a €4k 28-day total); gross margin weekly;
    net burn monthly."""
    rows = []
    for day in days(YEAR_START, DATA_END):
        if day < QUARTER_START:
            mrr = 300_000 + 112_000 * (day - YEAR_START).days / (QUARTER_START - YEAR_START).days
        else:
            mrr = 412_000 + 570 * ((day - QUARTER_START).days + 1)
        rows.append((day, "mrr", round(mrr + rng.uniform(-300, 300))))
    for day in days(DATA_START, DATA_END):
        cost = 4250 - 600 * min(max((day - QUARTER_START).days / 44, 0.0), 1.0)
        rows.append((day, "cloud_cost", round(cost + rng.uniform(-60, 60), 2)))
        churned = rng.choice([0, 0, 0, 0, 0, 0, 1]) * rng.randrange(500, 3000, 50)
        rows.append((day, "churned_mrr", churned))
        if day.weekday() == 0:
            rows.append((day, "gross_margin_pct", round(78.5 + rng.uniform(-0.8, 0.8), 1)))
    for month, burn in enumerate(NET_BURN, start=1):
        rows.append((date(2026, month, 1), "net_burn", burn))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [(day.isoformat(), account, amount) for day, account, amount in rows]


def support_rows(rng: random.Random) -> list[tuple]:
    """Per queue and day: enterprise CSAT about 93% (stays above 90), enterprise first
    response from 6.2 h to 3.6 h (on track for 2 h), self-serve backlog about 125 tickets."""
    rows = []
    for day in days(DATA_START, DATA_END):
        share = quarter_share(day)
        for queue in ("self_serve", "enterprise"):
            opened = rng.randint(60, 95) if queue == "self_serve" else rng.randint(8, 20)
            backlog = (125 if queue == "self_serve" else 18) + rng.randint(-12, 12)
            hours = (9.5 if queue == "self_serve" else 6.2 - 2.6 * share) + rng.uniform(-0.3, 0.3)
            csat = (86 if queue == "self_serve" else 93) + rng.uniform(-2, 2)
            rows.append((day.isoformat(), queue, opened, backlog, round(hours, 2), round(csat, 1)))
    return rows


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(SEED)
    write_database(HERE / "app.db", rng)
    write_csv(HERE / "finance.csv", ["date", "account", "amount"], finance_rows(rng))
    write_csv(
        HERE / "support.csv",
        ["date", "queue", "tickets_opened", "open_tickets", "first_response_hours", "csat"],
        support_rows(rng),
    )


if __name__ == "__main__":
    main()
