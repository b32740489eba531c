"""Google-shaped error bodies, raised as :class:`ApiError` by handlers.

Sheets v4 answers ``{"error": {"code", "message", "status"[, "details"]}}``; Drive v3
keeps the legacy ``errors`` array (``domain``/``reason``), which retry code inspects.
"""

from __future__ import annotations

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    408: "Request timed out.",
    409: "The operation was aborted.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}

UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)

# Google's front end answers 502 with an HTML page, not JSON (burnash/gspread#216).
BAD_GATEWAY_HTML = (
    "<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 502 (Server Error)!!1"
    "</title><p><b>502.</b> <ins>That's an error.</ins><p>The server encountered a temporary "
    "error and could not complete your request.<p>Please try again in 30 seconds.  "
    "<ins>That's all we know.</ins></html>\n"
)


class ApiError(Exception):
    """An HTTP error answer. ``body`` is a JSON-able dict or ready-made text."""

    def __init__(self, status: int, body: dict | str, headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def sheets_error(code: int, message: str | None = None, details: list | None = None) -> ApiError:
    error: dict = {
        "code": code,
        "message": message or DEFAULT_MESSAGES.get(code, "Error."),
        "status": STATUS_NAMES.get(code, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return ApiError(code, {"error": error})


def drive_error(code: int, message: str, reason: str, domain: str = "global",
                location: str | None = None, location_type: str | None = None) -> ApiError:
    item = {"message": message, "domain": domain, "reason": reason}
    if location:
        item.update(location=location, locationType=location_type or "parameter")
    return ApiError(code, {"error": {"code": code, "message": message, "errors": [item]}})


def bad_request(message: str) -> ApiError:
    return sheets_error(400, message)


def invalid_argument(violations: list[tuple[str, str]]) -> ApiError:
    """400 for request validation: one ``(field, description)`` per violation."""
    message = "\n".join(description for _, description in violations)
    details = [{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": f, "description": d} for f, d in violations],
    }]
    return sheets_error(400, message, details)


def unparsable_range(text: str) -> ApiError:
    return bad_request(f"Unable to parse range: {text}")


def spreadsheet_not_found() -> ApiError:
    return sheets_error(404, "Requested entity was not found.")


def not_supported_document() -> ApiError:
    """The Sheets API on an Office file kept as such in Drive (not converted to Google Sheets),
    as Google words it."""
    error = {"code": 400, "message": NOT_SUPPORTED_MESSAGE, "status": "FAILED_PRECONDITION"}
    return ApiError(400, {"error": error})


NOT_SUPPORTED_MESSAGE = "This operation is not supported for this document"


def permission_denied() -> ApiError:
    return sheets_error(403, "The caller does not have permission")


def file_not_found(file_id: str) -> ApiError:
    return drive_error(404, f"File not found: {file_id}.", "notFound",
                       location="fileId", location_type="parameter")


def insufficient_file_permissions() -> ApiError:
    return drive_error(403, "The user does not have sufficient permissions for this file.",
                       "insufficientFilePermissions")


def storage_quota_exceeded() -> ApiError:
    return drive_error(403, "The user's Drive storage quota has been exceeded.",
                       "storageQuotaExceeded", domain="usageLimits")


def unauthenticated(drive: bool) -> ApiError:
    error: dict = {"code": 401, "message": UNAUTHENTICATED_MESSAGE, "status": "UNAUTHENTICATED"}
    if drive:
        error["errors"] = [{"message": "Invalid Credentials", "domain": "global",
                            "reason": "authError", "location": "Authorization",
                            "locationType": "header"}]
    return ApiError(401, {"error": error},
                    {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def quota_exceeded(kind: str) -> ApiError:
    """429 RESOURCE_EXHAUSTED for the per-user read or write bucket (kind: read|write)."""
    label, limit = ("Read", "ReadRequestsPerMinutePerUser") if kind == "read" else (
        "Write", "WriteRequestsPerMinutePerUser")
    message = (f"Quota exceeded for quota metric '{label} requests' and limit "
               f"'{label} requests per minute per user' of service 'sheets.googleapis.com' "
               f"for consumer 'project_number:123456789012'.")
    details = [{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {
            "consumer": "projects/123456789012",
            "quota_limit": limit,
            "quota_metric": f"sheets.googleapis.com/{label.lower()}_requests",
            "service": "sheets.googleapis.com",
        },
    }]
    return sheets_error(429, message, details)


def injected(status: int, drive: bool) -> ApiError:
    """The default body of an injected fault with this status."""
    if status == 502:
        return ApiError(502, BAD_GATEWAY_HTML)
    if status == 429 and not drive:
        return quota_exceeded("read")
    message = DEFAULT_MESSAGES.get(status, "Error.")
    if drive:
        reason = "rateLimitExceeded" if status == 429 else "backendError"
        domain = "usageLimits" if status == 429 else "global"
        return drive_error(status, message, reason, domain=domain)
    return sheets_error(status, message)
