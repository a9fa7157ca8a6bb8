"""File fields for materials: the content checks of app/cases/uploads.py run as form validation, so
a bad file is reported next to its field and nothing is stored."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms.validators import StopValidation

from app.cases.uploads import UploadError, inspect


class MaterialField(FileField):
    """A file for one of the service's materials (`code`); after validation `upload` holds the checked
    file, or None when the field was left empty and is optional."""

    def __init__(self, label=None, validators=None, *, code: str, required: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.code, self.required, self.upload = code, required, None

    def pre_validate(self, form):
        self.upload = None
        data = self.data if isinstance(self.data, FileStorage) and self.data.filename else None
        if data is None:
            if self.required:
                raise StopValidation(_l("Attach this material."))
            return
        limit = current_app.config["MAX_MATERIAL_BYTES"]
        content = data.stream.read(limit + 1)  # one byte over is enough to know it is too large
        try:
            self.upload = inspect(data.filename, content, limit)
        except UploadError as exc:
            raise StopValidation(str(exc)) from None


def checked_uploads(form) -> dict:
    """{material code: Upload} of a validated form's filled material fields."""
    return {f.code: f.upload for f in form if isinstance(f, MaterialField) and f.upload is not None}
