"""When a digest is due, in the stakeholder's own timezone; and the sweeper that creates each due
delivery once, however often it runs."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from pmhub.digests import services
from pmhub.digests.models import Cadence, Delivery, Stakeholder
from pmhub.digests.schedule import current_period
from tests.factories import WorkspaceFactory

UTC = datetime.UTC


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


# --- the schedule ----------------------------------------------------------------------------
def test_daily_is_due_at_the_send_hour_of_the_stakeholders_own_day():
    # 08:00 in Tokyo is 23:00 UTC the day before.
    before = current_period(Cadence.DAILY, 8, "Asia/Tokyo", at(2026, 11, 25, 22, 59))
    after = current_period(Cadence.DAILY, 8, "Asia/Tokyo", at(2026, 11, 25, 23, 0))
    assert before.key == "2026-11-25"
    assert after.key == "2026-11-26"
    assert after.due_at == at(2026, 11, 25, 23, 0)


def test_weekly_is_due_on_monday_and_monthly_on_the_first():
    weekly = current_period(Cadence.WEEKLY, 9, "Europe/Paris", at(2026, 11, 26, 12))
    assert weekly.key == "2026-W48"
    assert weekly.due_at == at(2026, 11, 23, 8)  # Monday 09:00 in Paris (UTC+1)
    monthly = current_period(Cadence.MONTHLY, 9, "Europe/Paris", at(2026, 12, 1, 7, 59))
    assert monthly.key == "2026-11"  # December's moment is 08:00 UTC on the 1st: not yet
    assert current_period(Cadence.MONTHLY, 9, "Europe/Paris", at(2026, 12, 1, 8)).key == "2026-12"


def test_a_daylight_saving_change_keeps_the_local_hour():
    # New York's clocks go back on 2026-11-01: 08:00 local is 12:00 UTC before, 13:00 after.
    summer = current_period(Cadence.DAILY, 8, "America/New_York", at(2026, 10, 31, 12, 30))
    winter = current_period(Cadence.DAILY, 8, "America/New_York", at(2026, 11, 2, 13, 30))
    assert (summer.key, summer.due_at) == ("2026-10-31", at(2026, 10, 31, 12))
    assert (winter.key, winter.due_at) == ("2026-11-02", at(2026, 11, 2, 13))
    # At 12:30 UTC on the 2nd it is 07:30 in New York: still the 1st's digest.
    assert current_period(Cadence.DAILY, 8, "America/New_York", at(2026, 11, 2, 12, 30)).key == (
        "2026-11-01"
    )


def test_a_send_hour_in_the_spring_forward_gap_is_sent_once_that_day():
    # Paris skips 02:00-03:00 on 2026-03-29: a 02:00 digest goes at 03:00 local (01:00 UTC).
    period = current_period(Cadence.DAILY, 2, "Europe/Paris", at(2026, 3, 29, 1, 0))
    assert (period.key, period.due_at) == ("2026-03-29", at(2026, 3, 29, 1, 0))
    assert current_period(Cadence.DAILY, 2, "Europe/Paris", at(2026, 3, 29, 0, 59)).key == (
        "2026-03-28"
    )


def test_immediately_and_off_are_not_scheduled():
    assert current_period(Cadence.IMMEDIATELY, 8, "UTC", at(2026, 11, 26)) is None
    assert current_period(Cadence.OFF, 8, "UTC", at(2026, 11, 26)) is None


# --- stakeholders and settings ------------------------------------------------------------------
@pytest.mark.django_db
def test_stakeholder_input_is_checked(workspace, member):
    person = services.stakeholder_create(
        workspace=workspace, email=member.email.upper(), name="  Sales   lead ",
        timezone_name="Europe/Berlin",
    )  # fmt: skip
    assert person.user == member  # a member's email links the stakeholder to them
    assert person.name == "Sales lead"
    with pytest.raises(ValidationError, match="already a stakeholder"):
        services.stakeholder_create(workspace=workspace, email=member.email)
    with pytest.raises(ValidationError, match="not an email"):
        services.stakeholder_create(workspace=workspace, email="nope")
    with pytest.raises(ValidationError, match="Unknown timezone"):
        services.stakeholder_create(
            workspace=workspace, email="a@x.test", timezone_name="Mars/Base"
        )
    with pytest.raises(ValidationError, match="0 to 23"):
        services.stakeholder_create(workspace=workspace, email="b@x.test", send_hour=24)
    with pytest.raises(ValidationError, match="Choose one of"):
        services.stakeholder_create(workspace=workspace, email="c@x.test", cadence="hourly")


@pytest.mark.django_db
def test_follows_stay_inside_the_workspace(workspace, other_workspace):
    from discovery.models import Company

    person = services.stakeholder_create(workspace=workspace, email="ae@x.test")
    ours = Company.objects.create(workspace=workspace, name="Globex")
    theirs = Company.objects.create(workspace=other_workspace, name="Initech")
    follow = services.follow_add(
        workspace=workspace, stakeholder=person, company_id=ours.id, owns=True
    )
    again = services.follow_add(
        workspace=workspace, stakeholder=person, company_id=ours.id, owns=True
    )
    assert follow.id == again.id
    assert follow.owns
    with pytest.raises(ValidationError, match="No such company"):
        services.follow_add(workspace=workspace, stakeholder=person, company_id=theirs.id)
    with pytest.raises(ValidationError, match="one area, roadmap, item or company"):
        services.follow_add(workspace=workspace, stakeholder=person)


# --- the sweeper ---------------------------------------------------------------------------------
def _people(workspace, created: datetime.datetime, **kinds: dict) -> dict[str, Stakeholder]:
    made = {}
    for key, options in kinds.items():
        made[key] = services.stakeholder_create(
            workspace=workspace, email=f"{key}@x.test", **options
        )
    Stakeholder.objects.for_workspace(workspace).update(created_at=created)
    return made


@pytest.mark.django_db
def test_the_sweeper_creates_each_due_delivery_once(workspace):
    services.digest_settings_update(
        workspace=workspace, cadence=Cadence.WEEKLY, send_hour=9, timezone="Europe/Paris"
    )
    _people(
        workspace, at(2026, 11, 1),
        weekly={},  # the workspace's default: Monday 09:00 Paris
        daily={"cadence": Cadence.DAILY, "send_hour": 7, "timezone_name": "Asia/Tokyo"},
        off={"cadence": Cadence.OFF},
        now={"cadence": Cadence.IMMEDIATELY},
    )  # fmt: skip
    now = at(2026, 11, 26, 12)
    for _ in range(3):  # a re-run, or a second beat, creates nothing twice
        services.deliveries_create_due(now=now)
    rows = {
        (d.stakeholder.email, d.period, d.due_at)
        for d in Delivery.objects.for_workspace(workspace).select_related("stakeholder")
    }
    assert rows == {
        ("weekly@x.test", "2026-W48", at(2026, 11, 23, 8)),
        ("daily@x.test", "2026-11-26", at(2026, 11, 25, 22)),
    }
    # The next day brings the daily one's next period only.
    services.deliveries_create_due(now=at(2026, 11, 27, 12))
    assert Delivery.objects.for_workspace(workspace).count() == 3


@pytest.mark.django_db
def test_paused_unsubscribed_and_new_stakeholders_get_nothing_yet(workspace):
    people = _people(
        workspace, at(2026, 11, 26, 11),
        fresh={"cadence": Cadence.DAILY},  # added after today's 08:00 UTC moment
        paused={"cadence": Cadence.DAILY},
        gone={"cadence": Cadence.DAILY},
    )  # fmt: skip
    Stakeholder.objects.filter(id=people["paused"].id).update(status=Stakeholder.Status.PAUSED)
    Stakeholder.objects.filter(id=people["gone"].id).update(
        status=Stakeholder.Status.UNSUBSCRIBED, created_at=at(2026, 1, 1)
    )
    services.deliveries_create_due(now=at(2026, 11, 26, 12))
    assert not Delivery.objects.for_workspace(workspace).exists()
    services.deliveries_create_due(now=at(2026, 11, 27, 8))
    assert list(Delivery.objects.for_workspace(workspace).values_list("period", flat=True)) == [
        "2026-11-27"
    ]


@pytest.mark.django_db(transaction=True)
def test_two_beats_sweeping_at_once_create_each_delivery_once():
    workspace = WorkspaceFactory()
    _people(
        workspace, at(2026, 1, 1),
        **{f"p{n}": {"cadence": Cadence.DAILY} for n in range(40)},
    )  # fmt: skip
    now = at(2026, 11, 26, 12)
    barrier, errors = threading.Barrier(2), []

    def beat() -> None:
        try:
            barrier.wait()
            services.deliveries_create_due(now=now)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Delivery.objects.for_workspace(workspace).count() == 40
