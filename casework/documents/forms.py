"""Forms of the documents pages. The file itself is checked by its content in the service
(casework.documents.files), never by its name or the type the browser sends."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from casework import vocab
from casework.consent.forms import NoControlCharacters, strip_filter, with_placeholder

ACCEPT = "application/pdf,image/jpeg,image/png,image/tiff,image/webp,.pdf,.jpg,.jpeg,.png,.tif,.tiff,.webp"


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("Kind of document"), choices=with_placeholder(vocab.DOCUMENT_KINDS.choices()), validators=[DataRequired()]
    )
    title = StringField(
        _l("Title"),
        description=_l("What the document is, e.g. “Passport, photo page”. Stored encrypted."),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=200), NoControlCharacters()],
    )
    attach = SelectField(_l("Belongs to"), choices=[], validate_choice=True, validators=[Optional()])
    file = FileField(
        _l("File"),
        description=_l(
            "A PDF, or a JPEG, PNG, TIFF or WebP image. Photos are stored without their location and camera data."
        ),
        validators=[FileRequired(_l("Choose a file to upload."))],
        render_kw={"accept": ACCEPT},
    )


class ReplaceForm(FlaskForm):
    title = StringField(
        _l("New title (optional)"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=200), NoControlCharacters()],
    )
    file = FileField(
        _l("New file"),
        description=_l("A PDF, or a JPEG, PNG, TIFF or WebP image. It replaces the stored file."),
        validators=[FileRequired(_l("Choose a file to upload."))],
        render_kw={"accept": ACCEPT},
    )


class DeleteForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that the document will be deleted for good"),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
