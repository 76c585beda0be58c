"""Every code list of casework, in one place.

Forms (WTForms choices), validation, reports and the CTDC research export all read the
lists below. Each entry is a :class:`Code`: a stable snake_case machine ``code`` that is
stored in the database, a translatable English ``label`` shown to people, and, where the
Counter Trafficking Data Collaborative has one, the CTDC name (``ctdc``) and the exact
label CTDC uses in its ``*Concatenated`` columns (``ctdc_label``).

Sources: the export contract in ``shared/ctdc/README.md`` and ``ctdc_global_header.csv``
(CTDC Data Codebook v6) for the CTDC-mapped lists, kept in CTDC file order so flag
columns come out in header order; IOM's HTCDS 2.0 as the case-side vocabulary otherwise.

APPEND-ONLY RULE
    Multi-valued answers (means of control, exploitation types, labour sectors, ...)
    are stored as integer bitmasks: bit ``i`` is the code with ``index(code) == i``.
    Reordering or removing a code therefore silently changes the meaning of stored
    data. Never reorder, rename or delete a code of any list: only APPEND new codes at
    the end (retire a code in the forms instead). ``tests/test_vocab.py`` snapshots the
    lists known to be stored as bitmasks. COUNTRIES is the one exception: it is derived
    from Babel's territory data, its order may change with a Babel upgrade, and it is
    never used as a bitmask (its ``mask_of``/``codes_of`` raise ``TypeError``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

from casework.i18n import once_per_language

MISSING = "-99"  # CTDC: missing or suppressed
UNKNOWN_COUNTRY = "00"  # CTDC: country asked and not known

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Code:
    """One entry of a code list."""

    code: str  # stable snake_case machine code stored in the DB
    label: LazyString  # translatable English source text
    ctdc: str | None = None  # flag lists: CTDC column suffix; value lists: CTDC value
    ctdc_label: str | None = None  # flag lists: label in the CTDC *Concatenated column


class CodeList:
    """An ordered, named list of codes. Order matters: see the append-only rule."""

    __slots__ = ("_by_code", "_index", "codes", "name")

    def __init__(self, name: str, *codes: Code) -> None:
        self.name = name
        self.codes: tuple[Code, ...] = tuple(codes)
        self._by_code: dict[str, Code] = {}
        self._index: dict[str, int] = {}
        for i, c in enumerate(self.codes):
            if c.code in self._by_code:
                raise ValueError(f"{name}: duplicate code {c.code!r}")
            self._by_code[c.code] = c
            self._index[c.code] = i

    def __repr__(self) -> str:
        return f"<CodeList {self.name} ({len(self.codes)} codes)>"

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    def get(self, code: str) -> Code:
        """The :class:`Code` for ``code``; ``KeyError`` if unknown."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"{self.name}: unknown code {code!r}") from None

    def label(self, code: str | None) -> str:
        """Label in the current locale; ``""`` for None, the code itself if unknown."""
        if code is None:
            return ""
        c = self._by_code.get(code)
        # The label of a code depends on the language alone: looked up once per language.
        return code if c is None else once_per_language((self, code), c.label.__str__)

    def choices(self) -> list[tuple[str, LazyString]]:
        """``(code, label)`` pairs for WTForms (Select|SelectMultiple)Field."""
        return [(c.code, c.label) for c in self.codes]

    def index(self, code: str) -> int:
        """Position of ``code`` = its bit in a bitmask. ``KeyError`` if unknown."""
        try:
            return self._index[code]
        except KeyError:
            raise KeyError(f"{self.name}: unknown code {code!r}") from None

    def codes_of(self, mask: int | None) -> frozenset[str] | None:
        """Bitmask -> codes. None stays None; ``ValueError`` on bits past the list."""
        if mask is None:
            return None
        if mask < 0 or mask >> len(self.codes):
            raise ValueError(f"{self.name}: bitmask {mask} has bits outside the list")
        return frozenset(c.code for i, c in enumerate(self.codes) if mask >> i & 1)

    def mask_of(self, codes: Iterable[str] | None) -> int | None:
        """Codes -> bitmask. None stays None; ``ValueError`` on an unknown code."""
        if codes is None:
            return None
        if isinstance(codes, str):  # a bare string would be iterated letter by letter
            codes = (codes,)
        mask = 0
        for code in codes:
            i = self._index.get(code)
            if i is None:
                raise ValueError(f"{self.name}: unknown code {code!r}")
            mask |= 1 << i
        return mask


class _DerivedCodeList(CodeList):
    """A list generated from external data whose order is not stable: no bitmasks."""

    __slots__ = ()

    def codes_of(self, mask: int | None) -> frozenset[str] | None:
        raise TypeError(f"{self.name} is not append-only: never store it as a bitmask")

    def mask_of(self, codes: Iterable[str] | None) -> int | None:
        raise TypeError(f"{self.name} is not append-only: never store it as a bitmask")


def _fixed(text: str) -> LazyString:
    """A label that is deliberately not translated (e.g. a language's own name)."""
    return LazyString(str, text)


def _list(name: str, *items: tuple[str, LazyString]) -> CodeList:
    """A case-side list without CTDC names from ``(code, _l(label))`` pairs."""
    return CodeList(name, *(Code(code, label) for code, label in items))


# --- CTDC-mapped lists (order = CTDC file order) ---------------------------------

GENDERS = CodeList(
    "genders",
    Code("female", _l("Female"), "Female"),
    Code("male", _l("Male"), "Male"),
    Code("transgender_nonconforming", _l("Transgender / gender non-conforming"), "Transgender/NonConforming"),
    Code("unknown", _l("Unknown"), "Unknown"),
)

MEANS_OF_CONTROL = CodeList(
    "means_of_control",
    Code("debt_bondage", _l("Debt bondage"), "DebtBondage", "Debt bondage"),
    Code("takes_earnings", _l("Takes or withholds earnings"), "TakesEarnings", "Takes/Withholds Earnings"),
    Code(
        "restricts_financial_access",
        _l("Restricts access to finances"),
        "RestrictsFinancialAccess",
        "Restricts access to finances",
    ),
    Code("threats", _l("Threats to the person or others"), "Threats", "Threats to individual or others"),
    Code("psychological_abuse", _l("Psychological abuse"), "PsychologicalAbuse", "Psychological abuse"),
    Code("physical_abuse", _l("Physical abuse"), "PhysicalAbuse", "Physical abuse"),
    Code("sexual_abuse", _l("Sexual abuse"), "SexualAbuse", "Sexual abuse"),
    Code("false_promises", _l("False promises or deception"), "FalsePromises", "False promises/deception"),
    Code(
        "psychoactive_substances",
        _l("Use of psychoactive substances"),
        "PsychoactiveSubstances",
        "Use of psychoactive substances",
    ),
    Code(
        "restricts_movement",
        _l("Denied freedom of movement or kept in isolation"),
        "RestrictsMovement",
        "Denied freedom of movement/kept in isolation",
    ),
    Code(
        "restricts_medical_care",
        _l("Limits or restricts medical care"),
        "RestrictsMedicalCare",
        "Limits/restricts medical services",
    ),
    Code("excessive_working_hours", _l("Excessive working hours"), "ExcessiveWorkingHours", "Excessive working hours"),
    Code(
        "uses_children",
        _l("Restricts access to or manipulates children"),
        "UsesChildren",
        "Restricts access to/manipulates children",
    ),
    Code(
        "threat_of_law_enforcement",
        _l("Threat of action by law enforcement"),
        "ThreatOfLawEnforcement",
        "Threat of action by law enforcement",
    ),
    Code(
        "withholds_necessities",
        _l("Withholds or denies basic necessities"),
        "WithholdsNecessities",
        "Withholds/denies basic necessities",
    ),
    Code(
        "withholds_documents",
        _l("Withholds or destroys identity documents"),
        "WithholdsDocuments",
        "Withholds/Destroys Important Documents",
    ),
    Code("other", _l("Other"), "Other", "Other"),
    Code("not_specified", _l("Not specified"), "NotSpecified", "Not Specified"),
)

# Header order: isForcedLabour, isSexualExploit, isOtherExploit, (isSexAndLabour:
# derived), isForcedMarriage, isForcedMilitary, isOrganRemoval, isSlaveryAndPractices.
# typeOfExploitConcatenated only knows three labels; forced marriage, forced military,
# organ removal and slavery also set isOtherExploit in the export ("Other"), so they
# have no ctdc_label of their own.
EXPLOITATION_TYPES = CodeList(
    "exploitation_types",
    Code("forced_labour", _l("Forced labour or services"), "ForcedLabour", "Forced labour and/or services"),
    Code("sexual_exploitation", _l("Sexual exploitation"), "SexualExploit", "Sexual exploitation"),
    Code("other_exploitation", _l("Other exploitation"), "OtherExploit", "Other"),
    Code("forced_marriage", _l("Forced marriage"), "ForcedMarriage"),
    Code("forced_military", _l("Forced military service"), "ForcedMilitary"),
    Code("organ_removal", _l("Organ removal"), "OrganRemoval"),
    Code("slavery_and_practices", _l("Slavery and similar practices"), "SlaveryAndPractices"),
)

LABOUR_SECTORS = CodeList(
    "labour_sectors",
    Code(
        "agriculture", _l("Agriculture, farms, animal husbandry"), "Agriculture", "Agriculture/Farms/Animal Husbandry"
    ),
    Code("aquafarming", _l("Aquafarming and fishing"), "Aquafarming", "Aquafarming/Fishing"),
    Code("begging", _l("Begging"), "Begging", "Begging"),
    Code("construction", _l("Construction"), "Construction", "Construction"),
    Code("domestic_work", _l("Domestic work"), "DomesticWork", "Domestic Work"),
    Code(
        "hospitality",
        _l("Hospitality, restaurants, food service, hotels"),
        "Hospitality",
        "Hospitality/Restaurant/Food Service/Hotel",
    ),
    Code("illicit_activities", _l("Illicit activities"), "IllicitActivities", "Illicit Activities"),
    Code("manufacturing", _l("Manufacturing and factory work"), "Manufacturing", "Manufacturing/Factory work"),
    Code(
        "mining_or_drilling",
        _l("Mining, quarrying, oil and gas extraction"),
        "MiningOrDrilling",
        "Mining, Quarrying, Oil/Gas Extraction",
    ),
    Code("peddling", _l("Peddling and informal street commerce"), "Peddling", "Peddling/informal street commerce"),
    Code("transportation", _l("Transportation"), "Transportation", "Transportation"),
    Code("other", _l("Other"), "Other", "Other"),
    Code("not_specified", _l("Not specified"), "NotSpecified", "Not Specified"),
)

SEXUAL_EXPLOITATION_TYPES = CodeList(
    "sexual_exploitation_types",
    Code("prostitution", _l("Prostitution"), "Prostitution", "Prostitution"),
    Code("pornography", _l("Pornography"), "Pornography", "Pornography"),
    Code(
        "remote_interactive_services",
        _l("Remote interactive services"),
        "RemoteInteractiveServices",
        "Remote interactive services",
    ),
    Code("private_sexual_services", _l("Private sexual services"), "PrivateSexualServices", "Private sexual services"),
)

RECRUITER_RELATIONSHIPS = CodeList(
    "recruiter_relationships",
    Code("intimate_partner", _l("Intimate partner"), "IntimatePartner", "Intimate Partner"),
    Code("friend", _l("Friend or acquaintance"), "Friend", "Friend/Acquaintance"),
    Code("family", _l("Family member or relative"), "Family", "Family/Relative"),
    Code("other", _l("Other"), "Other", "Other"),
    Code("unknown", _l("Not specified"), "Unknown", "Not Specified"),
)

DATA_SOURCES = CodeList(
    "data_sources",
    Code("case_management", _l("Case management"), "Case Management"),
    Code("hotline", _l("Hotline"), "Hotline"),
)

# --- Case-side lists (HTCDS-inspired) --------------------------------------------

CASE_STATUSES = _list(
    "case_statuses",
    ("open", _l("Open")),
    ("in_assistance", _l("In assistance")),
    ("closed", _l("Closed")),
)

IDENTIFICATION_ROUTES = _list(
    "identification_routes",
    ("self_referral", _l("Self-referral")),
    ("law_enforcement", _l("Police or other law enforcement")),
    ("labour_inspection", _l("Labour inspection")),
    ("ngo", _l("Non-governmental organisation")),
    ("iom_or_un", _l("IOM or another UN agency")),
    ("hotline", _l("Hotline")),
    ("embassy_or_consulate", _l("Embassy or consulate")),
    ("health_or_social_services", _l("Health or social services")),
    ("community_or_family", _l("Community member or family")),
    ("other", _l("Other")),
    ("unknown", _l("Unknown")),
)

RECRUITMENT_TYPES = _list(
    "recruitment_types",
    ("job_offer", _l("Job offer")),
    ("marriage_or_relationship_offer", _l("Offer of marriage or a relationship")),
    ("education_offer", _l("Offer of education or training")),
    ("migration_or_travel_offer", _l("Offer of migration or travel")),
    ("abduction", _l("Abduction")),
    ("sold_by_family", _l("Sold by family")),
    ("other", _l("Other")),
    ("unknown", _l("Unknown")),
)

DOCUMENT_TYPES = _list(
    "document_types",
    ("passport", _l("Passport")),
    ("national_id", _l("National identity card")),
    ("birth_certificate", _l("Birth certificate")),
    ("residence_permit", _l("Residence permit")),
    ("travel_document", _l("Travel document")),
    ("other", _l("Other")),
)

SERVICE_KINDS = _list(
    "service_kinds",
    ("shelter", _l("Shelter")),
    ("legal", _l("Legal assistance")),
    ("medical", _l("Medical care")),
    ("psychosocial", _l("Psychosocial support")),
    ("return", _l("Return")),
    ("reintegration", _l("Reintegration")),
)

# order = workflow
SERVICE_STATUSES = _list(
    "service_statuses",
    ("needed", _l("Needed")),
    ("referred", _l("Referred")),
    ("in_progress", _l("In progress")),
    ("provided", _l("Provided")),
    ("declined", _l("Declined")),
)

SHELTER_TYPES = _list(
    "shelter_types",
    ("ngo_shelter", _l("NGO shelter")),
    ("government_shelter", _l("Government shelter")),
    ("specialised_shelter_for_minors", _l("Specialised shelter for minors")),
    ("safe_house", _l("Safe house")),
    ("hotel_or_rented", _l("Hotel or rented accommodation")),
    ("host_family", _l("Host family")),
    ("other", _l("Other")),
)

LEGAL_SERVICE_TYPES = _list(
    "legal_service_types",
    ("counselling", _l("Legal counselling")),
    ("representation", _l("Legal representation")),
    ("residence_permit_application", _l("Residence permit application")),
    ("reflection_period", _l("Recovery and reflection period")),
    ("compensation_claim", _l("Compensation claim")),
    ("witness_support", _l("Witness support")),
    ("other", _l("Other")),
)

PERMIT_STATUSES = _list(
    "permit_statuses",
    ("not_applied", _l("Not applied for")),
    ("reflection_period", _l("In recovery and reflection period")),
    ("applied", _l("Applied for")),
    ("temporary_permit_granted", _l("Temporary permit granted")),
    ("permanent_permit_granted", _l("Permanent permit granted")),
    ("refused", _l("Refused")),
    ("not_needed", _l("Not needed")),
)

LEGAL_PROCEEDING_TYPES = _list(
    "legal_proceeding_types",
    ("criminal", _l("Criminal")),
    ("civil", _l("Civil")),
    ("labour", _l("Labour")),
    ("administrative", _l("Administrative")),
    ("immigration", _l("Immigration")),
    ("none", _l("None")),
)

LEGAL_OUTCOMES = _list(
    "legal_outcomes",
    ("pending", _l("Pending")),
    ("conviction", _l("Conviction")),
    ("acquittal", _l("Acquittal")),
    ("settlement", _l("Settlement")),
    ("compensation_awarded", _l("Compensation awarded")),
    ("dismissed", _l("Dismissed")),
    ("withdrawn", _l("Withdrawn")),
    ("other", _l("Other")),
)

MEDICAL_CARE_TYPES = _list(
    "medical_care_types",
    ("primary_care", _l("Primary care")),
    ("emergency_care", _l("Emergency care")),
    ("sexual_and_reproductive_health", _l("Sexual and reproductive health")),
    ("mental_health", _l("Mental health")),
    ("dental", _l("Dental care")),
    ("specialist", _l("Specialist care")),
    ("medication", _l("Medication")),
    ("other", _l("Other")),
)

PSYCHOSOCIAL_SUPPORT_TYPES = _list(
    "psychosocial_support_types",
    ("individual_counselling", _l("Individual counselling")),
    ("group_therapy", _l("Group therapy")),
    ("psychiatric_care", _l("Psychiatric care")),
    ("crisis_intervention", _l("Crisis intervention")),
    ("family_support", _l("Family support")),
    ("peer_support", _l("Peer support")),
    ("other", _l("Other")),
)

RETURN_DOCUMENTS_STATUSES = _list(
    "return_documents_statuses",
    ("valid_documents", _l("Valid travel documents held")),
    ("documents_being_issued", _l("Documents being issued")),
    ("emergency_travel_document", _l("Emergency travel document")),
    ("not_needed", _l("Not needed")),
)

RISK_LEVELS = _list(
    "risk_levels",
    ("low", _l("Low")),
    ("medium", _l("Medium")),
    ("high", _l("High")),
)

REINTEGRATION_COMPONENTS = _list(
    "reintegration_components",
    ("education", _l("Education")),
    ("vocational_training", _l("Vocational training")),
    ("income_generation", _l("Income generation")),
    ("employment_support", _l("Employment support")),
    ("housing", _l("Housing")),
    ("family_reunification", _l("Family reunification")),
    ("medical_follow_up", _l("Medical follow-up")),
    ("psychosocial_follow_up", _l("Psychosocial follow-up")),
    ("legal_follow_up", _l("Legal follow-up")),
    ("other", _l("Other")),
)

CONSENT_PURPOSES = _list(
    "consent_purposes",
    ("assistance", _l("Assistance")),
    ("referral_sharing", _l("Sharing with a named organisation for a referral")),
    ("anonymised_research", _l("Anonymised research use")),
    ("law_enforcement_cooperation", _l("Cooperation with law enforcement")),
    ("family_contact", _l("Contacting family")),
    ("media_or_advocacy", _l("Media or advocacy")),
)

CONSENT_DECISIONS = _list(
    "consent_decisions",
    ("granted", _l("Granted")),
    ("refused", _l("Refused")),
)

CONSENT_METHODS = _list(
    "consent_methods",
    ("written", _l("Written")),
    ("verbal", _l("Verbal")),
    ("guardian", _l("Given by a guardian")),
    ("electronic", _l("Electronic")),
)

CONSENT_GIVERS = _list(
    "consent_givers",
    ("victim", _l("The person assisted")),
    ("guardian", _l("Guardian")),
    ("legal_representative", _l("Legal representative")),
)

ERASURE_REASONS = _list(  # why a case was erased: kept, as a code, in the organisation's erasure record
    "erasure_reasons",
    ("person_request", _l("The person asked for erasure")),
    ("registered_in_error", _l("Registered in error")),
    ("duplicate", _l("A duplicate of another case")),
    ("legal_obligation", _l("A legal obligation or a court order")),
    ("retention", _l("The retention period ended")),
    ("other", _l("Another reason")),
)

REFERRAL_STATUSES = _list(
    "referral_statuses",
    ("pending", _l("Pending")),
    ("accepted", _l("Accepted")),
    ("declined", _l("Declined")),
    ("completed", _l("Completed")),
    ("revoked", _l("Revoked")),
)

# what a referral may share with a partner
REFERRAL_SCOPE_FIELDS = _list(
    "referral_scope_fields",
    ("given_name", _l("Given name")),
    ("family_name", _l("Family name")),
    ("aliases", _l("Aliases")),
    ("date_of_birth", _l("Date of birth")),
    ("age", _l("Age")),
    ("gender", _l("Gender")),
    ("citizenship", _l("Citizenship")),
    ("languages", _l("Languages")),
    ("contact_phone", _l("Phone number")),
    ("contact_email", _l("Email address")),
    ("address", _l("Address")),
    ("identity_document", _l("Identity document")),
    ("needs", _l("Assistance needed")),
    ("trafficking_profile", _l("Trafficking profile")),
    ("case_notes_shared", _l("Case notes marked for sharing")),
    # Documents of the case, by kind (casework.access.DOCUMENT_KIND_SCOPES)
    ("documents_identity", _l("Documents: identity documents")),
    ("documents_consent", _l("Documents: signed consent forms")),
    ("documents_medical", _l("Documents: medical reports")),
    ("documents_legal", _l("Documents: legal and court papers")),
    ("documents_travel", _l("Documents: travel documents")),
    ("documents_photo", _l("Documents: photos")),
    ("documents_other", _l("Documents: other")),
    ("case_plan", _l("Case plan goals")),
    ("assessments", _l("Assessments (scores, risk level, safety plan)")),
)

# kinds of document kept on a case (casework.documents)
DOCUMENT_KINDS = _list(
    "document_kinds",
    ("identity_document", _l("Identity document")),
    ("consent_form", _l("Signed consent form")),
    ("medical", _l("Medical report")),
    ("legal", _l("Legal or court paper")),
    ("travel", _l("Travel document")),
    ("photo", _l("Photo")),
    ("other", _l("Other document")),
)

# --- Case plan (HTCDS support plan) --------------------------------------------------

PLAN_DOMAINS = _list(
    "plan_domains",
    ("safety", _l("Safety")),
    ("health", _l("Health")),
    ("legal_status", _l("Legal status")),
    ("housing", _l("Housing")),
    ("income", _l("Income")),
    ("family", _l("Family")),
    ("return_reintegration", _l("Return and reintegration")),
)

PLAN_GOAL_STATUSES = _list(
    "plan_goal_statuses",
    ("open", _l("Open")),
    ("in_progress", _l("In progress")),
    ("achieved", _l("Achieved")),
    ("dropped", _l("No longer pursued")),
)

APPROVAL_KINDS = _list(
    "approval_kinds",
    ("plan_review", _l("Review of the case plan")),
    ("closure", _l("Closure of the case")),
)

APPROVAL_STATUSES = _list(
    "approval_statuses",
    ("pending", _l("Waiting for a supervisor")),
    ("approved", _l("Approved")),
    ("rejected", _l("Sent back")),
)

# --- Assessments ---------------------------------------------------------------------

ASSESSMENT_KINDS = _list(
    "assessment_kinds",
    ("needs_vulnerability", _l("Needs and vulnerability assessment")),
    ("risk_safety", _l("Risk and safety assessment")),
    ("screening", _l("Identification and screening interview")),
)

# The score of an item of a scored instrument is its index here: 0 to 3.
ASSESSMENT_SCORES = _list(
    "assessment_scores",
    ("none", _l("0: no need or risk")),
    ("mild", _l("1: mild")),
    ("moderate", _l("2: moderate")),
    ("severe", _l("3: severe")),
)

NEEDS_ITEMS = _list(
    "needs_items",
    ("safety", _l("Safety")),
    ("physical_health", _l("Physical health")),
    ("mental_health", _l("Mental health")),
    ("legal_status", _l("Legal status and documents")),
    ("housing", _l("Housing")),
    ("income", _l("Income and livelihood")),
    ("family", _l("Family and social support")),
    ("education", _l("Education and skills")),
)

RISK_ITEMS = _list(
    "risk_items",
    ("trafficker_contact", _l("Contact with the traffickers or their network")),
    ("threats_to_person", _l("Threats or violence against the person")),
    ("threats_to_family", _l("Threats against family members")),
    ("debt", _l("Debt owed to the traffickers")),
    ("unsafe_accommodation", _l("Unsafe or unstable accommodation")),
    ("retrafficking", _l("Risk of being trafficked again")),
    ("self_harm", _l("Risk of self-harm")),
    ("known_location", _l("Whereabouts known to the exploiters")),
)

# HTCDS identification/screening interview: indicators asked, each answered below.
SCREENING_INDICATORS = _list(
    "screening_indicators",
    ("deceptive_recruitment", _l("Deceived about the work or its conditions")),
    ("documents_withheld", _l("Identity documents withheld by someone else")),
    ("movement_restricted", _l("Freedom of movement restricted")),
    ("threats_or_violence", _l("Threats or violence")),
    ("debt_bondage", _l("Debt used to force work")),
    ("wages_withheld", _l("Wages withheld or not paid")),
    ("excessive_hours", _l("Excessive working hours")),
    ("forced_sexual_services", _l("Forced to provide sexual services")),
    ("isolation", _l("Isolated from family or community")),
    ("minor", _l("Under 18 when exploited")),
)

SCREENING_ANSWERS = _list(
    "screening_answers",
    ("yes", _l("Yes")),
    ("no", _l("No")),
    ("unknown", _l("Not known")),
    ("declined", _l("Did not want to answer")),
)

SCREENING_OUTCOMES = _list(
    "screening_outcomes",
    ("presumed_victim", _l("Presumed victim of trafficking")),
    ("not_a_victim", _l("Not a victim of trafficking")),
    ("further_assessment", _l("Further assessment needed")),
    ("referred_elsewhere", _l("Referred to another service")),
)

ORGANISATION_KINDS = _list(
    "organisation_kinds",
    ("lead_agency", _l("Lead agency")),
    ("partner_ngo", _l("Partner NGO")),
    ("government", _l("Government agency")),
    ("research", _l("Research institution")),
)

ROLES = _list(
    "roles",
    ("admin", _l("Administrator")),
    ("operator", _l("Platform operator")),
    ("supervisor", _l("Supervisor")),
    ("caseworker", _l("Caseworker")),
    ("partner", _l("Partner organisation staff")),
    ("researcher", _l("Researcher")),
)

LANGUAGES = CodeList(  # UI languages; each language's own name, never translated
    "languages",
    Code("en", _fixed("English")),
    Code("fr", _fixed("Français")),
    Code("es", _fixed("Español")),
    Code("ar", _fixed("العربية")),
    Code("ru", _fixed("Русский")),
)

# --- Countries --------------------------------------------------------------------

# Two-letter keys in CLDR's territory names that are not ISO 3166-1 countries or
# territories: groupings (EU, EZ, UN, QO), pseudo-locales (XA, XB), unknown (ZZ) and
# codes ISO only "exceptionally reserves" (AC, CP, CQ, DG, EA, IC, TA).
# XK (Kosovo, user-assigned) is kept: it is used in practice.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"})


@lru_cache(maxsize=32)
def _territories(locale: str) -> dict[str, str]:
    try:
        return dict(Locale.parse(locale).territories)
    except (UnknownLocaleError, ValueError):
        return dict(Locale.parse("en").territories)


def country_name(code: str, locale: str | None = None) -> str:
    """Name of an ISO 3166-1 alpha-2 country in ``locale``.

    Without ``locale``: the current Flask-Babel locale inside a request/app context,
    English otherwise. Returns the code itself when it is not a known territory.
    """
    if code == UNKNOWN_COUNTRY:
        return str(_l("Unknown country")) if locale is None else "Unknown country"
    if locale is None:
        current = get_locale()
        locale = str(current) if current is not None else "en"
    return _territories(locale).get(code.upper(), code)


COUNTRIES: CodeList = _DerivedCodeList(
    "countries",
    Code(UNKNOWN_COUNTRY, _l("Unknown country"), UNKNOWN_COUNTRY),
    *(
        Code(cc, LazyString(country_name, cc), cc)
        for cc in sorted(_territories("en"))
        if len(cc) == 2 and cc.isalpha() and cc.isupper() and cc not in _NOT_COUNTRIES
    ),
)


# --- Sorting by name, as the reader reads -------------------------------------------


def collation_key(text: str) -> tuple[str, str]:
    """Sort key for names in en/fr/es: accents, case and punctuation set aside first
    ("Émirats" between "Égypte" and "Équateur"), then the exact text breaks ties. CLDR
    collation proper would need ICU; this matches it for the names of these languages."""
    letters = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c) and (c.isalnum() or c == " ")
    )
    return (" ".join(letters.casefold().split()), text)


def _current_locale() -> str:
    current = get_locale()
    return str(current) if current is not None else "en"


@lru_cache(maxsize=32)
def _countries_by_name(locale: str) -> tuple[tuple[str, str], ...]:
    names = _territories(locale)
    pairs = [(c.code, names.get(c.code, c.code)) for c in COUNTRIES if c.code != UNKNOWN_COUNTRY]
    return tuple(sorted(pairs, key=lambda pair: collation_key(pair[1])))


def countries_by_name(locale: str | None = None) -> list[tuple[str, str]]:
    """``(code, name)`` of every country in the reader's language, sorted by that name,
    "Unknown country" first: the order of every country picker."""
    locale = locale or _current_locale()
    return [(UNKNOWN_COUNTRY, country_name(UNKNOWN_COUNTRY)), *_countries_by_name(locale)]


@lru_cache(maxsize=32)
def _languages_by_name(locale: str) -> tuple[Code, ...]:
    try:
        names = Locale.parse(locale).languages
    except (UnknownLocaleError, ValueError):
        names = Locale.parse("en").languages
    return tuple(sorted(LANGUAGES, key=lambda c: collation_key(names.get(c.code, c.code))))


def languages_by_name(locale: str | None = None) -> tuple[Code, ...]:
    """The interface languages sorted by their names in the reader's language (English,
    French, Spanish; anglais, espagnol, français); each is shown by its own name."""
    return _languages_by_name(locale or _current_locale())


# --- UN M49 sub-regions (the extended research file generalises countries to them) --------

# UN M49 (unstats.un.org/unsd/methodology/m49): sub-region code, English name, member
# countries (ISO alpha-2). Latin America and the Caribbean and Sub-Saharan Africa are M49
# sub-regions whose intermediate regions (Caribbean, Western Africa, ...) are not used here.
# Kosovo (XK) has no M49 code; it is placed with Serbia. Antarctica belongs to no region.
_M49_TABLE = """
010 Antarctica: AQ
015 Northern Africa: DZ EG EH LY MA SD TN
021 Northern America: BM CA GL PM US
030 Eastern Asia: CN HK JP KP KR MN MO TW
034 Southern Asia: AF BD BT IN IR LK MV NP PK
035 South-eastern Asia: BN ID KH LA MM MY PH SG TH TL VN
039 Southern Europe: AD AL BA ES GI GR HR IT ME MK MT PT RS SI SM VA XK
053 Australia and New Zealand: AU CC CX HM NF NZ
054 Melanesia: FJ NC PG SB VU
057 Micronesia: FM GU KI MH MP NR PW UM
061 Polynesia: AS CK NU PF PN TK TO TV WF WS
143 Central Asia: KG KZ TJ TM UZ
145 Western Asia: AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE
151 Eastern Europe: BG BY CZ HU MD PL RO RU SK UA
154 Northern Europe: AX DK EE FI FO GB GG IE IM IS JE LT LV NO SE SJ
155 Western Europe: AT BE CH DE FR LI LU MC NL
202 Sub-Saharan Africa: AO BF BI BJ BW CD CF CG CI CM CV DJ ER ET GA GH GM GN GQ GW
    IO KE KM LR LS MG ML MR MU MW MZ NA NE NG RE RW SC SH SL SN
    SO SS ST SZ TD TF TG TZ UG YT ZA ZM ZW
419 Latin America and the Caribbean: AG AI AR AW BB BL BO BQ BR BS BV BZ CL CO CR CU CW DM DO EC
    FK GD GF GP GS GT GY HN HT JM KN KY LC MF MQ MS MX NI PA PE
    PR PY SR SV SX TC TT UY VC VE VG VI
"""


def _m49() -> tuple[CodeList, dict[str, str]]:
    codes, member_of = [], {}
    for line in _M49_TABLE.replace("\n    ", " ").strip().splitlines():  # indented lines continue
        head, members = line.split(":")
        code, name = head.split(" ", 1)
        codes.append(Code(code, _fixed(name), name))
        member_of.update(dict.fromkeys(members.split(), code))
    return CodeList("m49_subregions", *codes), member_of


#: UN M49 sub-regions; ``ctdc`` holds the English name written in the extended file.
M49_SUBREGIONS, _M49_OF = _m49()


def m49_subregion(country: str) -> str | None:
    """The M49 sub-region code of an ISO alpha-2 country, None for the unknown country "00"."""
    return _M49_OF.get(country)


# tasks (casework.tasks): what a task is about. The first codes are typed by caseworkers; the
# ``deadline_*`` codes name deadlines derived from dates already recorded (never typed twice).
TASK_TITLES = _list(
    "task_titles",
    ("call_person", _l("Call the person")),
    ("visit", _l("Visit")),
    ("accompany_appointment", _l("Accompany to an appointment")),
    ("collect_documents", _l("Collect documents")),
    ("renew_permit", _l("Renew the residence permit")),
    ("prepare_hearing", _l("Prepare for a hearing")),
    ("update_assessment", _l("Update the assessment")),
    ("review_case", _l("Review the case")),
    ("follow_up_referral", _l("Follow up a referral")),
    ("other", _l("Other (describe)")),
    ("deadline_permit_expiry", _l("Residence permit expires")),
    ("deadline_medical_follow_up", _l("Medical follow-up due")),
    ("deadline_return_travel", _l("Return travel date")),
    ("deadline_consent_expiry", _l("Consent expires")),
    ("deadline_referral_unanswered", _l("Referral not answered")),
    ("deadline_hearing", _l("Hearing or court date")),
    ("deadline_plan_review", _l("Plan review due")),
)
TASK_STATUSES = _list(
    "task_statuses",
    ("open", _l("Open")),
    ("done", _l("Done")),
    ("cancelled", _l("Cancelled")),
)


# --- Registry and derived CTDC values ---------------------------------------------

ALL_LISTS: dict[str, CodeList] = {
    cl.name: cl
    for cl in (
        GENDERS,
        MEANS_OF_CONTROL,
        EXPLOITATION_TYPES,
        LABOUR_SECTORS,
        SEXUAL_EXPLOITATION_TYPES,
        RECRUITER_RELATIONSHIPS,
        DATA_SOURCES,
        CASE_STATUSES,
        IDENTIFICATION_ROUTES,
        RECRUITMENT_TYPES,
        DOCUMENT_TYPES,
        SERVICE_KINDS,
        SERVICE_STATUSES,
        SHELTER_TYPES,
        LEGAL_SERVICE_TYPES,
        PERMIT_STATUSES,
        LEGAL_PROCEEDING_TYPES,
        LEGAL_OUTCOMES,
        MEDICAL_CARE_TYPES,
        PSYCHOSOCIAL_SUPPORT_TYPES,
        RETURN_DOCUMENTS_STATUSES,
        RISK_LEVELS,
        REINTEGRATION_COMPONENTS,
        CONSENT_PURPOSES,
        CONSENT_DECISIONS,
        CONSENT_METHODS,
        CONSENT_GIVERS,
        REFERRAL_STATUSES,
        REFERRAL_SCOPE_FIELDS,
        ERASURE_REASONS,
        DOCUMENT_KINDS,
        TASK_TITLES,
        TASK_STATUSES,
        ORGANISATION_KINDS,
        ROLES,
        PLAN_DOMAINS,
        PLAN_GOAL_STATUSES,
        APPROVAL_KINDS,
        APPROVAL_STATUSES,
        ASSESSMENT_KINDS,
        ASSESSMENT_SCORES,
        NEEDS_ITEMS,
        RISK_ITEMS,
        SCREENING_INDICATORS,
        SCREENING_ANSWERS,
        SCREENING_OUTCOMES,
        LANGUAGES,
        COUNTRIES,
    )
}

# (upper bound inclusive, CTDC ageBroad band)
_AGE_BANDS: tuple[tuple[int, str], ...] = (
    (8, "0--8"),
    (17, "9--17"),
    (20, "18--20"),
    (23, "21--23"),
    (26, "24--26"),
    (29, "27--29"),
    (38, "30--38"),
    (47, "39--47"),
)


def age_band(age: int | None) -> str:
    """CTDC ``ageBroad`` band for an age in years; ``"-99"`` for None or negative."""
    if age is None or age < 0:
        return MISSING
    for upper, band in _AGE_BANDS:
        if age <= upper:
            return band
    return "48+"


def majority(age: int | None) -> str:
    """CTDC majority status: ``"Minor"`` under 18, ``"Adult"``, ``"-99"`` for None."""
    if age is None or age < 0:
        return MISSING
    return "Minor" if age < 18 else "Adult"
