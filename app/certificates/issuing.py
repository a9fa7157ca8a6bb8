"""Issuing certificates after an entry in the register, and moving the status of the ones it ends.

Operations flush; the request or job that called them commits. A new certificate is written with its
number, identifier and face at once and waits for the renderer (`rendering.py`), which runs after
commit: the step that issues it never waits for a PDF.
"""

from datetime import date

from sqlalchemy import select

from app.cases.models import Case, CaseParty, PartyRole
from app.certificates import numbering, rendering
from app.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    RenderJob,
    RenderState,
)
from app.core.clock import LOCAL, now_utc
from app.engine.errors import NotAllowed
from app.extensions import db
from app.register import history
from app.register.models import Holding, RegisterEntry, Restriction, RestrictionKind, Right, RightType

RIGHT_TYPES = {
    RightType.STATE_LAND_USE: "国有建设用地使用权",
    RightType.STATE_LAND_USE_BUILDING: "国有建设用地使用权/房屋（构筑物）所有权",
    RightType.HOMESTEAD_BUILDING: "宅基地使用权/房屋（构筑物）所有权",
}
HOLDINGS = {Holding.SOLE: "单独所有", Holding.JOINT: "共同共有", Holding.SHARES: "按份共有"}
RESTRICTION_MATTERS = {RestrictionKind.MORTGAGE: "抵押权", RestrictionKind.OBJECTION: "异议登记",
                       RestrictionKind.ADVANCE_NOTICE: "预告登记"}


def _authority(issuer) -> str:
    return f"{issuer.name}自然资源局"


def _area(unit) -> str:
    land = f"共有宗地面积 {unit.land_area_m2:.2f}㎡"
    return f"{land}／房屋建筑面积 {unit.building_area_m2:.2f}㎡" if unit.building_area_m2 else land


def title_face(unit, right: Right) -> tuple[list[list[str]], list[dict]]:
    """The rows of a title certificate (细则 Art 20–21: co-owners all listed, with their shares)."""
    holders = [{"name": h.party.name, "id_number": h.party.id_number,
                "share": f"{h.share * 100:.0f}%" if h.share is not None else ""} for h in right.holders]
    names = "、".join(h["name"] + (f"（{h['share']}）" if h["share"] else "") for h in holders)
    rows = [["权利人", names], ["共有情况", HOLDINGS[right.holding]], ["坐落", unit.location],
            ["不动产单元号", unit.key], ["权利类型", RIGHT_TYPES[right.right_type]],
            # The register here does not record the nature and term of the land right: printed as not recorded
            # rather than guessed.
            ["权利性质", "—"], ["用途", unit.land_use], ["面积", _area(unit)], ["使用期限", "—"],
            ["权利其他状况", f"证件号码：{'、'.join(h['id_number'] for h in holders)}"]]
    return rows, holders


def proof_face(unit, restriction: Restriction, obligors: list) -> tuple[list[list[str]], list[dict]]:
    """The rows of a registration proof: the matter proved, the right holder and the obligors."""
    holder = restriction.holder
    holders = [{"name": holder.name, "id_number": holder.id_number, "share": ""}] if holder else []
    other = []
    if restriction.kind == RestrictionKind.MORTGAGE:
        if restriction.amount is not None:
            other.append(f"被担保主债权数额：{restriction.amount:,.2f}元")
        if restriction.rank:
            other.append(f"抵押顺位：第{restriction.rank}顺位")
        if restriction.document_no:
            other.append(f"抵押合同编号：{restriction.document_no}")
    rows = [["证明权利或事项", RESTRICTION_MATTERS[restriction.kind]],
            ["权利人（申请人）", "、".join(h["name"] for h in holders)],
            ["义务人", "、".join(p.name for p in obligors)], ["坐落", unit.location], ["不动产单元号", unit.key],
            ["其他", "；".join(other)]]
    return rows, holders


def _new(case: Case, entry: RegisterEntry | None, kind: CertificateKind, unit_no: str, item_key: str,
         rows: list, holders: list[dict], actor_id: int | None, job: RenderJob | None, notes: str = "") -> Certificate:
    issuer = numbering.issuer_of(case.jurisdiction)
    today = now_utc().astimezone(LOCAL).date()
    sequence = numbering.next_sequence(issuer, today.year, kind)
    certificate = Certificate(
        kind=kind, number=numbering.number(issuer, today.year, kind, sequence), issuer_id=issuer.id,
        year=today.year, sequence=sequence, ecert_id=numbering.ecert_id(issuer, today.year, kind, sequence),
        token=numbering.new_token(), case_id=case.id, entry_id=entry.id if entry else None, unit_no=unit_no,
        item_key=item_key, face={"issuer": _authority(issuer), "issued_on": today.isoformat(), "rows": rows,
                                 "notes": notes},
        holders=[{"name": h["name"], "id_number": h["id_number"]} for h in holders],
        holder_names="、".join(h["name"] for h in holders)[:400], issued_by_id=actor_id,
        render_state=RenderState.PENDING, render_job_id=job.id if job else None)
    db.session.add(certificate)
    if job is not None:
        job.total += 1
    return certificate


def start_job(label: str, actor_id: int | None) -> RenderJob:
    job = RenderJob(label=label[:200], created_by_id=actor_id)
    db.session.add(job)
    db.session.flush()
    return job


def issue_for_entry(case: Case, entry_id: int, actor_id: int | None) -> list[Certificate]:
    """缮证: the certificates a case's entry gives. A transfer or change gives a title certificate for
    each right it wrote; a mortgage gives the bank a registration proof. Mark the render as queued."""
    entry = db.session.get(RegisterEntry, entry_id)
    if entry is None or entry.case_id != case.id:
        raise NotAllowed("the case has no entry in the register to issue a certificate for")
    record = history.record(case.unit_no, notations=False)
    obligors = db.session.scalars(select(CaseParty).where(CaseParty.case_id == case.id,
                                                          CaseParty.role == PartyRole.OBLIGOR)).all()
    faces = [(CertificateKind.TITLE, right.key, *title_face(record.unit, right))
             for right in record.rights if right.entry_id == entry.id]
    faces += [(CertificateKind.PROOF, restriction.key, *proof_face(record.unit, restriction, obligors))
              for restriction in record.restrictions
              if restriction.entry_id == entry.id and restriction.kind in RESTRICTION_MATTERS]
    if not faces:
        return []
    job = start_job(f"{case.case_no} {case.title}", actor_id)
    issued = [_new(case, entry, kind, case.unit_no, key, rows, holders, actor_id, job)
              for kind, key, rows, holders in faces]
    db.session.flush()
    _queued()
    return issued


def end_for_entry(case: Case, entry: RegisterEntry) -> list[Certificate]:
    """The certificates an entry makes historical: those of every item it wrote a new version of
    (superseded) or ended (cancelled). Called inside the entry, so the register and the certificate
    register change together."""
    changed: dict[str, bool] = {}
    for model in (Right, Restriction):
        for key, ended in db.session.execute(select(model.key, model.ended).where(model.entry_id == entry.id)):
            changed[key] = ended
    if not changed:
        return []
    current = db.session.scalars(select(Certificate).where(Certificate.item_key.in_(changed),
                                                           Certificate.status == CertificateStatus.ISSUED)).all()
    for certificate in current:
        status = CertificateStatus.CANCELLED if changed[certificate.item_key] else CertificateStatus.SUPERSEDED
        _set_status(certificate, status, case, entry, "")
    return current


def _set_status(certificate: Certificate, status: CertificateStatus, case: Case, entry: RegisterEntry | None,
                note: str) -> None:
    certificate.status = status
    certificate.status_at = now_utc()
    certificate.status_case_id = case.id
    certificate.status_entry_id = entry.id if entry else None
    certificate.status_note = note[:2000]


def replace(old: Certificate, case: Case, entry: RegisterEntry | None, reason: str,
            actor_id: int | None) -> Certificate:
    """换发 or 补发: a new certificate under a new number with the same face; the old one is replaced."""
    if old.status != CertificateStatus.ISSUED:
        raise NotAllowed(f"certificate {old.number} is no longer current and cannot be replaced")
    job = start_job(f"{case.case_no} {reason}", actor_id)
    new = _new(case, entry, old.kind, old.unit_no, old.item_key, old.face["rows"],
               [{**h, "share": ""} for h in old.holders], actor_id, job,
               notes=f"{reason}，原证号{old.number}作废。")
    db.session.flush()
    new.replaces_id = old.id
    old.replaced_by_id = new.id
    _set_status(old, CertificateStatus.REPLACED, case, entry, reason)
    _queued()
    return new


def rerender(certificates: list[Certificate], label: str, actor_id: int | None) -> RenderJob:
    """Render and sign current certificates again (a new key or template): each gets a new file; the
    old files stay, so copies already handed out still verify."""
    job = start_job(label, actor_id)
    for certificate in certificates:
        certificate.render_state = RenderState.PENDING
        certificate.render_error = ""
        certificate.render_job_id = job.id
    job.total = len(certificates)
    db.session.flush()
    _queued()
    return job


def _queued() -> None:
    # The renderer is woken when this transaction commits.
    rendering.job.queue()


def issued_on(certificate: Certificate) -> date:
    return date.fromisoformat(certificate.face["issued_on"])
