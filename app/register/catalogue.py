"""The registration services in the catalogue: process, application form, materials (with the
documents that may stand in for each other), time limits, fee and the accepting tier.

Time limits: 条例 Art 20 allows 30 working days; the bureau commits to 5 for general registration
and mortgages and 1 for cancelling a mortgage (domain brief §1.5). Exchanging or re-issuing a
certificate is committed in 5 (10 at most); the 15 working days of a lost certificate's notice
(细则 Art 22) come on top, moved onto the case's deadline at acceptance. Fees follow the national rule
of 80 yuan per residential case, cancellations and name changes free; a replacement electronic
certificate costs nothing.
"""

from decimal import Decimal

from app.cases.models import Family, Service
from app.extensions import db
from app.orgs.models import Tier
from app.register.models import RegistrationType

ID_PROOF = {"code": "id_proof", "name": "申请人身份证明", "name_en": "Applicants' proof of identity", "required": True,
            "alternatives": ["居民身份证", "户口簿", "护照", "营业执照"]}
TITLE = {"code": "title_cert", "name": "不动产权证书", "name_en": "Title certificate", "required": True,
         "alternatives": ["不动产权证书", "房屋所有权证及国有土地使用证"]}

SERVICES = [
    {"code": "reg_transfer", "name": "转移登记（存量房买卖）",
     "name_en": "Transfer registration (second-hand home sale)",
     "process_id": "registration_transfer", "form_key": "reg_transfer", "joint": True, "statutory_days": 30,
     "committed_days": 5, "fee_yuan": Decimal("80"), "fee_note": "住宅每件 80 元，含第一本证书工本费，由买受人缴纳",
     "fee_note_en": "80 yuan per residential case, first certificate included, paid by the buyer",
     "registration_type": RegistrationType.TRANSFER,
     "guide": "买卖双方共同申请。卖方须为登记簿记载的全部权利人；不动产被查封的不能转移。"
              "受理后系统将交易信息推送税务部门，完税后方可登簿。",
     "guide_en": "Buyer and seller apply together. The sellers must be every holder in the register; a seized unit "
                 "cannot be transferred. After acceptance the sale is sent to the tax bureau; entry waits for the tax.",
     "materials": [ID_PROOF, TITLE,
                   {"code": "contract", "name": "存量房买卖合同（网签）", "name_en": "Sale contract (filed online)",
                    "required": True, "alternatives": []},
                   {"code": "marriage", "name": "婚姻状况证明", "name_en": "Proof of marital status", "required": False,
                    "alternatives": ["结婚证", "离婚证", "婚姻状况声明书"]}]},
    {"code": "reg_mortgage", "name": "抵押权首次登记", "name_en": "Mortgage registration",
     "process_id": "registration_mortgage", "form_key": "reg_mortgage", "joint": True, "statutory_days": 30,
     "committed_days": 5, "fee_yuan": Decimal("80"), "fee_note": "住宅每件 80 元，由抵押权人缴纳",
     "fee_note_en": "80 yuan per residential case, paid by the lender", "registration_type": RegistrationType.FIRST,
     "guide": "抵押人（全部权利人）与贷款银行共同申请。新抵押权的顺位排在已登记的抵押权之后。",
     "guide_en": "The owners (every holder) and the lending bank apply together. A new mortgage ranks after those "
                 "already registered.",
     "materials": [ID_PROOF, TITLE,
                   {"code": "loan_contract", "name": "主债权合同及抵押合同", "name_en": "Loan and mortgage contracts",
                    "required": True, "alternatives": ["借款合同", "最高额抵押合同"]}]},
    {"code": "reg_mortgage_cancellation", "name": "抵押权注销登记", "name_en": "Mortgage cancellation",
     "process_id": "registration_mortgage_cancellation", "form_key": "reg_mortgage_cancellation", "joint": False,
     "statutory_days": 30, "committed_days": 1, "fee_yuan": Decimal("0"), "fee_note": "不收费",
     "fee_note_en": "Free", "registration_type": RegistrationType.CANCELLATION,
     "guide": "权利人或抵押权人一方即可申请，须提交抵押权人同意注销或主债权消灭的证明。一个工作日办结。",
     "guide_en": "Either the owner or the lender may apply alone, with the lender's consent or proof the debt is "
                 "repaid. Done in one working day.",
     "materials": [ID_PROOF,
                   {"code": "release_proof", "name": "抵押权消灭证明", "name_en": "Proof the mortgage has ended",
                    "required": True, "alternatives": ["抵押权人同意注销的书面材料", "主债权消灭证明"]}]},
    {"code": "reg_change", "name": "变更登记（姓名或身份证明变更）",
     "name_en": "Change registration (name or ID changed)",
     "process_id": "registration_change", "form_key": "reg_change", "joint": False, "statutory_days": 30,
     "committed_days": 5, "fee_yuan": Decimal("0"), "fee_note": "不收取登记费；换发证书不收工本费",
     "fee_note_en": "No fee; the new certificate is free", "registration_type": RegistrationType.CHANGE,
     "guide": "权利人姓名或身份证明号码变更的，由该权利人单方申请，提交公安机关出具的变更证明。查封期间也可办理。",
     "guide_en": "A holder whose name or ID number changed applies alone, with the police's certificate of the "
                 "change. Possible while the unit is seized.",
     "materials": [ID_PROOF, TITLE,
                   {"code": "change_proof", "name": "姓名或身份证明变更证明", "name_en": "Proof of the change",
                    "required": True, "alternatives": ["公安机关出具的变更证明", "户口簿变更页"]}]},
    {"code": "reg_certificate_replacement", "name": "换证、补证登记", "name_en": "Certificate exchange or re-issue",
     "process_id": "registration_certificate_replacement", "form_key": "reg_certificate_replacement", "joint": False,
     "statutory_days": 10, "committed_days": 5, "fee_yuan": Decimal("0"),
     "fee_note": "不收费；电子证照免收证书工本费",
     "fee_note_en": "Free: there is no certificate fee for an electronic certificate",
     "registration_type": RegistrationType.OTHER,
     "guide": "证书损坏的，由证书记载的权利人申请换发，提交损坏的证书，领取新证时交回原证书。"
              "证书遗失的，由权利人提交遗失声明，在本局门户网站公告 15 个工作日后补发；公告期在办理时限之外另加 "
              "15 个工作日。新证书启用新证号，原证书作废。",
     "guide_en": "A holder named on a damaged certificate applies for an exchange with the damaged certificate and "
                 "hands it back when the new one is issued. For a lost certificate the holder gives a loss statement; "
                 "it is published on the bureau's website and the certificate is re-issued after 15 working days: "
                 "the notice adds 15 working days to the time limit. The new certificate has a new number and the "
                 "old one is void.",
     "materials": [ID_PROOF,
                   {"code": "damaged_cert", "name": "损坏的不动产权证书或不动产登记证明（换发）",
                    "name_en": "The damaged certificate (exchange)", "required": False, "alternatives": []},
                   {"code": "loss_statement", "name": "遗失声明（补发）", "name_en": "Loss statement (re-issue)",
                    "required": False, "alternatives": []}]},
]
COURT_ORDER = {"code": "reg_court_order", "name": "人民法院协助执行（查封、解封）",
               "name_en": "Court order (seizure, release)",
               "process_id": "registration_court_order", "form_key": "", "joint": False, "statutory_days": 1,
               "committed_days": 1, "fee_yuan": Decimal("0"), "fee_note": "", "fee_note_en": "",
               "registration_type": RegistrationType.SEIZURE, "guide": "", "guide_en": "", "materials": [],
               "accepting_tier": Tier.COUNTY}

REGISTRATION_TYPES = {s["code"]: s["registration_type"] for s in [*SERVICES, COURT_ORDER]}


def seed() -> None:
    """Add the catalogue rows that are missing (existing rows are the bureau's to edit)."""
    for spec in [*SERVICES, COURT_ORDER]:
        if db.session.get(Service, spec["code"]) is None:
            fields = {k: v for k, v in spec.items() if k != "registration_type"}
            fields.setdefault("accepting_tier", Tier.TOWNSHIP)
            db.session.add(Service(family=Family.REGISTRATION, **fields))
    db.session.flush()
