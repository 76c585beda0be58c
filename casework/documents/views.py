"""Documents pages: the list of a case's documents, upload, a document's page, download,
image preview, replace and delete. Thin: parse the form, call the service, commit once.

Downloads stream chunk by chunk (a 50 MB file is never whole in memory), always as an
attachment with the type the content was found to be and ``nosniff``, inside a sandbox policy
(a PDF is never rendered by the browser as part of the site). Every view, download and preview
is on record.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from casework import access, vocab
from casework.access import Permission, route
from casework.db import session
from casework.documents import files, services
from casework.documents.forms import DeleteForm, ReplaceForm, UploadForm
from casework.documents.models import Document
from casework.documents.store import store_for

bp = Blueprint("documents", __name__)

#: A downloaded file is never a page of the site: no script, no plugin, no frame, no form.
DOWNLOAD_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


def _max_bytes() -> int:
    return int(current_app.config["CASEWORK"].document_max_bytes)


def _refused(form: Any, error: services.DocumentRefused) -> None:
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, str(error)]
    else:
        form.form_errors.append(str(error))


def _attachment_labels(grant: access.CaseGrant) -> dict[str, str]:
    return dict(services.attachment_choices(grant)) if grant.allows(Permission.CASE_FILE) else {}


@bp.route("/cases/<uuid:case_id>/documents")
@route(Permission.CASE_READ, case_route=True)
def index(case_id: uuid.UUID) -> Any:
    grant = access.load_case(case_id, Permission.CASE_READ)
    documents = services.documents_for(grant)
    return render_template(
        "documents/index.html",
        case=grant.view,
        documents=documents,
        attached_to=_attachment_labels(grant),
        max_size=files.human_size(_max_bytes()),
    )


@bp.route("/cases/<uuid:case_id>/documents/new", methods=["GET", "POST"])
@route(Permission.DOCUMENT_MANAGE, case_route=True, uploads=True)
def upload(case_id: uuid.UUID) -> Any:
    grant = access.load_case(case_id, Permission.DOCUMENT_MANAGE)
    form = UploadForm()
    form.attach.choices = services.attachment_choices(grant)
    if not form.is_submitted():
        attach = request.args.get("attach", "")
        if attach in dict(form.attach.choices):
            form.attach.data = attach
            if attach.startswith("consent:"):
                form.kind.data = "consent_form"
    if form.validate_on_submit():
        upload_file = form.file.data
        try:
            attachment = services.parse_attachment(grant, form.attach.data)
            document = services.upload(
                grant,
                kind=form.kind.data,
                title=form.title.data,
                source=upload_file.stream,
                filename=upload_file.filename,
                attachment=attachment,
                store=store_for(),
                max_bytes=_max_bytes(),
            )
        except services.DocumentRefused as error:
            session.rollback()
            _refused(form, error)
        else:
            session.commit()
            flash(_("Document stored (encrypted)."), "success")
            return redirect(url_for(".view", document_id=document.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "documents/upload.html", form=form, case=grant.view, document=None, max_size=files.human_size(_max_bytes())
    ), status


@bp.route("/documents/<uuid:document_id>")
@route(Permission.CASE_READ)
def view(document_id: uuid.UUID) -> Any:
    document, grant = services.load_document(document_id, Permission.CASE_READ)
    services.record_read("document.view", document, grant)
    return render_template(
        "documents/view.html",
        document=document,
        case=grant.view,
        attached_to=_attachment_labels(grant).get(_attachment_value(document), ""),
        is_image=document.content_type.startswith("image/"),
    )


def _attachment_value(document: Document) -> str:
    return services.Attachment(document.consent_id, document.service_id).value


@bp.route("/documents/<uuid:document_id>/download")
@route(Permission.CASE_READ)
def download(document_id: uuid.UUID) -> Any:
    document, grant = services.load_document(document_id, Permission.CASE_READ)
    try:
        body = services.read(document, grant, store_for())
    except services.DocumentUnreadable:
        services.record_read("document.download", document, grant, outcome="unreadable")
        abort(422)
    services.record_read("document.download", document, grant, bytes=document.size)
    file_type = files.TYPES_BY_CONTENT_TYPE.get(document.content_type, files.PDF)
    answer = Response(body, mimetype=file_type.content_type, direct_passthrough=True)
    answer.headers["Content-Length"] = str(document.size)
    answer.headers["Content-Disposition"] = files.content_disposition(document.filename_or_none(), file_type)
    answer.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["X-Content-Type-Options"] = "nosniff"
    return answer


@bp.route("/documents/<uuid:document_id>/preview")
@route(Permission.CASE_READ)
def preview(document_id: uuid.UUID) -> Any:
    document, grant = services.load_document(document_id, Permission.CASE_READ)
    if not document.content_type.startswith("image/"):
        abort(404)  # a PDF is never shown here: download it
    try:
        whole = services.read_whole(document, grant, store_for())
    except services.DocumentUnreadable:
        abort(422)
    with whole:
        try:
            image = files.preview(whole)
        except files.Refused:
            abort(422)
    services.record_read("document.preview", document, grant)
    answer = Response(image, mimetype="image/png")
    answer.headers["Content-Disposition"] = 'inline; filename="preview.png"'
    answer.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["X-Content-Type-Options"] = "nosniff"
    return answer


@bp.route("/documents/<uuid:document_id>/replace", methods=["GET", "POST"])
@route(Permission.DOCUMENT_MANAGE, uploads=True)
def replace(document_id: uuid.UUID) -> Any:
    locking = request.method == "POST"
    document, grant = services.load_document(document_id, Permission.DOCUMENT_MANAGE, lock=locking)
    form = ReplaceForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        try:
            services.replace(
                grant,
                document,
                title=form.title.data,
                source=upload_file.stream,
                filename=upload_file.filename,
                store=store_for(),
                max_bytes=_max_bytes(),
            )
        except services.DocumentRefused as error:
            session.rollback()
            document, grant = services.load_document(document_id, Permission.DOCUMENT_MANAGE)
            _refused(form, error)
        else:
            session.commit()
            flash(_("Document replaced."), "success")
            return redirect(url_for(".view", document_id=document_id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "documents/upload.html", form=form, case=grant.view, document=document, max_size=files.human_size(_max_bytes())
    ), status


@bp.route("/documents/<uuid:document_id>/delete", methods=["GET", "POST"])
@route(Permission.DOCUMENT_MANAGE)
def delete(document_id: uuid.UUID) -> Any:
    document, grant = services.load_document(document_id, Permission.DOCUMENT_MANAGE, lock=request.method == "POST")
    form = DeleteForm()
    if form.validate_on_submit():
        case_id = grant.case_id
        services.delete(grant, document, store_for())
        session.commit()
        flash(_("Document deleted."), "success")
        return redirect(url_for(".index", case_id=case_id))
    status = 400 if form.is_submitted() else 200
    return render_template("documents/delete.html", form=form, case=grant.view, document=document), status


@bp.app_context_processor
def _document_helpers() -> dict[str, Any]:
    return {"document_kinds": vocab.DOCUMENT_KINDS, "access_document_fields": sorted(access.DOCUMENT_FIELDS)}
