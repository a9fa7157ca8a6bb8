"""Jinja filters and globals: local times, and the words shown for statuses and timeline events."""

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.core.clock import LOCAL

CASE_STATUS = {"running": _l("In progress"), "suspended": _l("Suspended"), "completed": _l("Closed"),
               "withdrawn": _l("Withdrawn")}
EVENT_KIND = {
    "submitted": _l("Submitted"), "task_completed": _l("Step completed"), "sent_back": _l("Sent back"),
    "claimed": _l("Claimed"), "unclaimed": _l("Released"), "reassigned": _l("Reassigned"),
    "timer_fired": _l("Deadline timer fired"), "message_received": _l("Message received"),
    "suspended": _l("Suspended"), "resumed": _l("Resumed"), "withdrawn": _l("Withdrawn by the applicant"),
    "completed": _l("Closed"), "material_added": _l("Materials submitted"),
    "confirmed": _l("Confirmed by a party"), "correction_requested": _l("Corrections requested"),
    "correction_fixed": _l("Corrections sent"), "visit": _l("Visit"), "outbox": _l("Message to another agency"),
    "document": _l("Document issued"), "archive": _l("Archive"),
}
CERTIFICATE_STATUS = {"issued": _l("Valid"), "superseded": _l("Superseded"), "cancelled": _l("Cancelled"),
                      "replaced": _l("Replaced")}
CERTIFICATE_KIND = {"title": _l("Title certificate (不动产权证书)"), "proof": _l("Registration proof (不动产登记证明)")}
RENDER_STATE = {"pending": _l("Being produced"), "ready": _l("Ready"), "failed": _l("Could not be produced")}
CHANNEL = {"window": _l("At the window (a visit)"), "online": _l("Online"), "post": _l("By post")}
VISIT_PURPOSE = {"submission": _l("Submitting the application"), "identity_check": _l("Identity check"),
                 "signing": _l("Signing"), "correction": _l("Bringing corrections"), "payment": _l("Payment"),
                 "pickup": _l("Receiving the certificate")}
OUTBOX_STATE = {"pending": _l("Waiting to be delivered"), "delivered": _l("Delivered"),
                "failed": _l("Failed; send again")}
DESTINATIONS = {"tax": _l("Tax bureau")}
PARTY_ROLE = {
    "reg_transfer": {"obligor": _l("Seller"), "holder": _l("Buyer")},
    "reg_mortgage": {"obligor": _l("Mortgagor"), "holder": _l("Lending bank")},
    "reg_mortgage_cancellation": {"obligor": _l("Owner"), "holder": _l("Lender")},
    "reg_change": {"obligor": _l("Holder as registered"), "holder": _l("Holder as now")},
    "reg_certificate_replacement": {"holder": _l("Certificate holder")},
}
DUE_STATE = {"green": _l("On time"), "amber": _l("Due soon"), "red": _l("Overdue"), "none": _l("No deadline")}
VIEW_NAMES = {"mine": _l("My tasks"), "unclaimed": _l("Unclaimed"), "due_soon": _l("Due soon"),
              "overdue": _l("Overdue"), "all": _l("All in my jurisdiction")}
DECISIONS = {
    "accept": _l("Accept"), "reject": _l("Refuse"), "approve": _l("Approve"), "send_back": _l("Send back"),
    "escalate": _l("Escalate to the city"), "correct": _l("Ask for corrections"), "refuse": _l("Refuse"),
    "enter": _l("Enter in the register"), "issue": _l("Issued"), "acknowledge": _l("Checked"),
}
RESTRICTION_KIND = {"mortgage": _l("Mortgage"), "seizure": _l("Seizure"), "objection": _l("Objection"),
                    "advance_notice": _l("Advance notice")}
TIER_NAMES = {"city": _l("City"), "county": _l("County"), "township": _l("Township")}


def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(LOCAL).strftime(fmt) if value else ""


def register(app: Flask) -> None:
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.globals.update(CASE_STATUS=CASE_STATUS, EVENT_KIND=EVENT_KIND, DUE_STATE=DUE_STATE,
                                 VIEW_NAMES=VIEW_NAMES, TIER_NAMES=TIER_NAMES, DECISIONS=DECISIONS,
                                 RESTRICTION_KIND=RESTRICTION_KIND, CHANNEL=CHANNEL, VISIT_PURPOSE=VISIT_PURPOSE,
                                 OUTBOX_STATE=OUTBOX_STATE, DESTINATIONS=DESTINATIONS, PARTY_ROLE=PARTY_ROLE,
                                 CERTIFICATE_STATUS=CERTIFICATE_STATUS, CERTIFICATE_KIND=CERTIFICATE_KIND,
                                 RENDER_STATE=RENDER_STATE, get_locale=get_locale)

    @app.template_filter("unit_name")
    def unit_name(unit) -> str:
        if unit is None:
            return ""
        return unit.name_en if str(get_locale()) == "en" and unit.name_en else unit.name
