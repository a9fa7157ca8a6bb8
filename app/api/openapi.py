"""The OpenAPI 3.1 document of the partner API, served at /api/v1/openapi.json.

Written by hand rather than generated, so it says what partners need to know (scopes, the meaning of
each field, what every refusal looks like). tests/register/test_court_api.py checks it validates and
that every route of the blueprint is in it with its methods.
"""

UNIT_NO = "220102001001GB00001F00010101"
COURT_ID = "112201000MA0000000"
CASE_NO = "220102-2026-0000042"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: dict, description: str, example: dict | None = None) -> dict:
    content = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"description": description, "content": {"application/json": content}}


def _needs(scope: str) -> list[dict]:
    # OpenAPI 3.1 lets a non-OAuth requirement list roles: here the token's scope.
    return [{"bearerToken": [scope]}]


_STRING_100 = {"type": "string", "minLength": 1, "maxLength": 100}
_DECIMAL = {"type": ["string", "null"], "pattern": r"^-?\d+(\.\d+)?$",
            "description": "A decimal as a string, so no client rounds it."}
_QUERY_GROUNDS = [
    {"name": "document_no", "in": "query", "required": True, "schema": _STRING_100,
     "description": "The number of the assistance-query notice (协助查询通知书) or ruling the query rests on."},
    {"name": "officer", "in": "query", "required": True, "schema": _STRING_100,
     "description": "The officer making the query, as named on the notice."},
]

SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "A stable code: bad_request, unauthorized, forbidden, "
                                                      "not_found, not_seized, wrong_unit, request_id_reused, "
                                                      "not_waiting, not_running, conflict, model_error."},
            "message": {"type": "string", "description": "What is wrong, in English, for a person to act on."},
            "problems": {"type": "array", "items": {"type": "string"},
                         "description": "For 400: every problem found in the request, one sentence each."},
        },
    },
    "Holder": {
        "type": "object", "required": ["name", "id_type", "id_number", "share"],
        "properties": {
            "name": {"type": "string"},
            "id_type": {"enum": ["resident_id", "uscc"],
                        "description": "居民身份证号码 (GB 11643) or 统一社会信用代码 (GB 32100)."},
            "id_number": {"type": "string"},
            "share": {**_DECIMAL, "description": "A fraction of 1 for holdings in shares (按份共有), else null."},
        },
    },
    "Right": {
        "type": "object", "required": ["right_type", "holding", "certificate_no", "holders"],
        "properties": {
            "right_type": {"type": "string", "description": "权利类型 (QLLX code), e.g. 4: state construction-land "
                                                            "use right with building ownership."},
            "holding": {"enum": ["sole", "joint", "shares"],
                        "description": "单独所有, 共同共有 or 按份共有."},
            "certificate_no": {"type": "string", "description": "不动产权证书号."},
            "holders": {"type": "array", "items": _ref("Holder")},
        },
    },
    "Restriction": {
        "type": "object",
        "required": ["key", "kind", "state", "holder", "rank", "amount", "document_no", "received_at"],
        "properties": {
            "key": {"type": "string", "description": "The restriction number; a seizure's key releases it."},
            "kind": {"enum": ["mortgage", "seizure", "objection", "advance_notice"]},
            "state": {"enum": ["effective", "queued"],
                      "description": "queued: a seizure waiting behind the effective one (轮候查封)."},
            "holder": {"type": ["string", "null"], "description": "The bank, court or objector."},
            "rank": {"type": ["integer", "null"], "description": "A mortgage's rank (顺位), 1 first."},
            "amount": {**_DECIMAL, "description": "The secured claim in yuan, for a mortgage."},
            "document_no": {"type": "string", "description": "Contract or ruling number."},
            "received_at": {"type": ["string", "null"], "format": "date-time",
                            "description": "A seizure's time of receipt: seizures rank by it."},
        },
    },
    "UnitSummary": {
        "type": "object",
        "required": ["unit_no", "location", "land_area_m2", "building_area_m2", "land_use", "county_code", "county",
                     "rights", "restrictions", "mortgaged", "seized", "under_objection"],
        "properties": {
            "unit_no": {"type": "string", "minLength": 28, "maxLength": 28,
                        "description": "不动产单元号 (GB/T 37346)."},
            "location": {"type": "string", "description": "坐落."},
            "land_area_m2": _DECIMAL,
            "building_area_m2": _DECIMAL,
            "land_use": {"type": "string", "description": "用途."},
            "county_code": {"type": "string", "description": "The county's 6-digit division code."},
            "county": {"type": ["string", "null"], "description": "The county's name."},
            "rights": {"type": "array", "items": _ref("Right"), "description": "Current rights."},
            "restrictions": {"type": "array", "items": _ref("Restriction"),
                             "description": "Current mortgages, seizures (effective and queued), objections and "
                                            "advance notices."},
            "mortgaged": {"type": "boolean"},
            "seized": {"type": "boolean"},
            "under_objection": {"type": "boolean"},
        },
    },
    "UnitAnswer": {
        "allOf": [_ref("UnitSummary"),
                  {"type": "object", "required": ["answered_at"],
                   "properties": {"answered_at": {"type": "string", "format": "date-time"}}}],
    },
    "PartyUnits": {
        "type": "object", "required": ["id_number", "id_type", "units", "answered_at"],
        "properties": {
            "id_number": {"type": "string", "description": "The ID number as normalised."},
            "id_type": {"enum": ["resident_id", "uscc"]},
            "units": {"type": "array", "items": _ref("UnitSummary"),
                      "description": "Every unit the party currently holds; an empty list when none."},
            "answered_at": {"type": "string", "format": "date-time"},
        },
    },
    "CourtOrderCommon": {
        "type": "object", "required": ["request_id", "order", "document_no", "court_name", "court_id_number",
                                       "officer"],
        "properties": {
            "request_id": {"type": "string", "minLength": 1, "maxLength": 64,
                           "description": "The court system's own id of the request. Sending it again answers "
                                          "200 with the first answer and changes nothing."},
            "document_no": {**_STRING_100, "description": "The ruling (裁定书) and assistance-execution notice "
                                                          "(协助执行通知书) number."},
            "court_name": _STRING_100,
            "court_id_number": {"type": "string", "minLength": 18, "maxLength": 18,
                                "description": "The court's unified social credit code; its check digit is "
                                               "checked."},
            "officer": {**_STRING_100, "description": "The officer serving the order (工作证 holder)."},
        },
    },
    "SeizureOrder": {
        "allOf": [_ref("CourtOrderCommon"),
                  {"type": "object", "required": ["unit_no"],
                   "properties": {"order": {"const": "seize"},
                                  "unit_no": {"type": "string", "description": "The unit to seize."}},
                   "not": {"required": ["seizure_key"]}}],
    },
    "ReleaseOrder": {
        "allOf": [_ref("CourtOrderCommon"),
                  {"type": "object", "required": ["seizure_key"],
                   "properties": {"order": {"const": "release"},
                                  "seizure_key": {"type": "string", "maxLength": 32,
                                                  "description": "The key the seizure was answered with."},
                                  "unit_no": {"type": "string",
                                              "description": "Optional; if given, must be the seizure's unit."}}}],
    },
    "CourtOrder": {
        "oneOf": [_ref("SeizureOrder"), _ref("ReleaseOrder")],
        "discriminator": {"propertyName": "order", "mapping": {"seize": "#/components/schemas/SeizureOrder",
                                                               "release": "#/components/schemas/ReleaseOrder"}},
    },
    "CourtOrderAnswer": {
        "type": "object", "required": ["case_no", "order", "seizure_key", "state", "took_effect", "received_at"],
        "properties": {
            "case_no": {"type": "string", "description": "The registry's case, where the registrar checks the order."},
            "order": {"enum": ["seize", "release"]},
            "seizure_key": {"type": "string", "description": "The seizure lodged, or the one released."},
            "state": {"enum": ["effective", "queued", "released"],
                      "description": "A seizure takes effect at once, or is queued (轮候) behind an effective one."},
            "took_effect": {"type": ["string", "null"],
                            "description": "On a release: the queued seizure that took effect in its place."},
            "received_at": {"type": "string", "format": "date-time",
                            "description": "The time of receipt: the order is in force from this moment."},
        },
    },
    "Message": {
        "type": "object", "required": ["message_id", "name", "correlation"],
        "properties": {
            "message_id": {"type": "string", "minLength": 1, "maxLength": 64,
                           "description": "Unique per message; a repeat is reported as a duplicate."},
            "name": {"type": "string", "minLength": 1, "maxLength": 64,
                     "description": "The message a case waits for, e.g. tax_result."},
            "correlation": {"type": "object", "additionalProperties": {"type": ["string", "integer"]},
                            "description": "Which case: {\"case_no\": ...}."},
            "payload": {"type": "object", "not": {"required": ["typename"]}},
        },
    },
    "MessageAnswer": {
        "type": "object", "required": ["message_id", "delivered", "duplicate"],
        "properties": {"message_id": {"type": "string"}, "delivered": {"type": "boolean"},
                       "duplicate": {"type": "boolean"}},
    },
}

_ERROR = {"content": {"application/json": {"schema": _ref("Error")}}}
RESPONSES = {
    "BadRequest": {"description": "The request is malformed; nothing was stored or logged.", **_ERROR},
    "Unauthorized": {"description": "No valid bearer token.", **_ERROR},
    "Forbidden": {"description": "The token lacks the scope this operation needs.", **_ERROR},
}
_REFUSED = {"400": _response("BadRequest"), "401": _response("Unauthorized"), "403": _response("Forbidden")}

_UNIT_EXAMPLE = {
    "unit_no": UNIT_NO, "location": "长春市南关区人民大街1号", "land_area_m2": "98.50", "building_area_m2": "90.50",
    "land_use": "城镇住宅用地", "county_code": "220102", "county": "南关区",
    "rights": [{"right_type": "4", "holding": "sole", "certificate_no": "吉(2025)长春市不动产权第0000001号",
                "holders": [{"name": "王伟", "id_type": "resident_id", "id_number": "220102198812285044",
                             "share": None}]}],
    "restrictions": [{"key": "SC00000042", "kind": "seizure", "state": "effective", "holder": "长春市南关区人民法院",
                      "rank": None, "amount": None, "document_no": "(2026)吉0102执1号",
                      "received_at": "2026-11-02T01:00:00+00:00"}],
    "mortgaged": False, "seized": True, "under_objection": False,
}

PATHS = {
    "/openapi.json": {"get": {
        "operationId": "openapi", "summary": "This document", "security": [], "tags": ["meta"],
        "responses": {"200": {"description": "The OpenAPI document.",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }},
    "/messages": {"post": {
        "operationId": "postMessage", "tags": ["messages"], "security": _needs("messages:send"),
        "summary": "Deliver a message to a waiting case (scope messages:send)",
        "description": "E.g. the tax bureau's result for a transfer: name tax_result, correlated on the case "
                       "number, payload {status: cleared | unpaid, voucher_no, taxes}.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Message"), "example": {
            "message_id": "tax-220102-2026-0000042-1", "name": "tax_result", "correlation": {"case_no": CASE_NO},
            "payload": {"case_no": CASE_NO, "status": "cleared", "voucher_no": "322016261100012345",
                        "taxes": {"deed_tax_yuan": "36000.00"}}}}}},
        "responses": {
            "200": _json(_ref("MessageAnswer"), "Delivered, or a duplicate of a message already delivered.",
                         {"message_id": "tax-220102-2026-0000042-1", "delivered": True, "duplicate": False}),
            **_REFUSED,
            "409": {"description": "No case waits for this message (not_waiting), or the case is not running "
                                   "(not_running).", **_ERROR},
            "422": {"description": "The case's process failed on the message (model_error).", **_ERROR},
        },
    }},
    "/register/units/{unit_no}": {"get": {
        "operationId": "registerUnit", "tags": ["courts"], "security": _needs("register:query"),
        "summary": "A unit's current page of the register (scope register:query)",
        "description": "Every answered query, found or not, is logged with the partner, document and officer.",
        "parameters": [{"name": "unit_no", "in": "path", "required": True, "schema": {"type": "string"},
                        "description": "不动产单元号, 28 characters (GB/T 37346)."}, *_QUERY_GROUNDS],
        "responses": {
            "200": _json(_ref("UnitAnswer"), "The unit.",
                         {**_UNIT_EXAMPLE, "answered_at": "2026-11-02T02:00:00+00:00"}),
            **_REFUSED,
            "404": {"description": "The unit is not in the register (the query is logged).", **_ERROR},
        },
    }},
    "/register/parties/{id_number}/units": {"get": {
        "operationId": "registerPartyUnits", "tags": ["courts"], "security": _needs("register:query"),
        "summary": "Every unit a person or organisation currently holds (scope register:query)",
        "parameters": [{"name": "id_number", "in": "path", "required": True, "schema": {"type": "string"},
                        "description": "Resident ID number or unified social credit code; the check digit is "
                                       "checked."}, *_QUERY_GROUNDS],
        "responses": {
            "200": _json(_ref("PartyUnits"), "The units, or an explicit empty list.",
                         {"id_number": "220102198812285044", "id_type": "resident_id", "units": [_UNIT_EXAMPLE],
                          "answered_at": "2026-11-02T02:00:00+00:00"}),
            **_REFUSED,
        },
    }},
    "/court-orders": {"post": {
        "operationId": "postCourtOrder", "tags": ["courts"], "security": _needs("court:orders"),
        "summary": "Seize a unit, or release a seizure (scope court:orders)",
        "description": "The order is entered at once, in force from its time of receipt; a seizure behind an "
                       "effective one is queued (轮候查封), and releasing the effective one lets the earliest "
                       "queued one take effect. The county registrar then checks the order.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CourtOrder"), "examples": {
            "seize": {"value": {"request_id": "KZ2026110200001", "order": "seize", "unit_no": UNIT_NO,
                                "document_no": "(2026)吉0102执1号", "court_name": "长春市南关区人民法院",
                                "court_id_number": COURT_ID, "officer": "李明"}},
            "release": {"value": {"request_id": "KZ2026120100007", "order": "release", "seizure_key": "SC00000042",
                                  "document_no": "(2026)吉0102执1号之二", "court_name": "长春市南关区人民法院",
                                  "court_id_number": COURT_ID, "officer": "李明"}}}}}},
        "responses": {
            "201": _json(_ref("CourtOrderAnswer"), "Lodged.",
                         {"case_no": CASE_NO, "order": "seize", "seizure_key": "SC00000042", "state": "effective",
                          "took_effect": None, "received_at": "2026-11-02T01:00:00+00:00"}),
            "200": _json(_ref("CourtOrderAnswer"), "This request id was already lodged: the first answer again."),
            **_REFUSED,
            "404": {"description": "The unit to seize is not in the register.", **_ERROR},
            "409": {"description": "The seizure is unknown or already released (not_seized), is on another unit "
                                   "(wrong_unit), the request id was used for a different order "
                                   "(request_id_reused), or the register changed meanwhile (conflict).", **_ERROR},
            "422": {"description": "The order's process failed (model_error).", **_ERROR},
        },
    }},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Smart Land partner API",
        "version": "1.0.0",
        "description": "For partner agencies: message ingress (the tax bureau's results) and the courts' "
                       "register queries and orders (联动共享). Every call but this document needs a bearer "
                       "token carrying the operation's scope; tokens are issued by the bureau "
                       "(`flask --app wsgi partner create NAME --scopes ...`). Messages are in English.",
    },
    "servers": [{"url": "/api/v1"}],
    "tags": [{"name": "courts", "description": "Register queries and court orders (法院查控)."},
             {"name": "messages", "description": "Messages to waiting cases."},
             {"name": "meta", "description": "About the API."}],
    "security": [{"bearerToken": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearerToken": {
            "type": "http", "scheme": "bearer",
            "description": "A partner token; each operation lists the scope it needs "
                           "(messages:send, register:query, court:orders)."}},
        "schemas": SCHEMAS,
        "responses": RESPONSES,
    },
}
