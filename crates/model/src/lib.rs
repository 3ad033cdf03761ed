//! The domain model shared by every layer: typed ids, the closed vocabularies
//! (roles, classifications, statuses, actions, error codes) and validated
//! values such as file paths. No I/O, no clock, no randomness.

mod attestations;
mod certifications;
mod codes;
mod conditions;
mod courses;
pub mod diligence;
mod ids;
mod inputs;
mod links;
pub mod mail;
mod path;
mod types;
mod upload_requests;

pub use attestations::{
    ATTESTATION_PERIOD_MS, Attestation, AttestationSignature, AttestationState, CopyKind,
    DEFAULT_ATTESTATION_DAYS, DEFAULT_DECLARATION, MAX_ATTESTATION_DAYS, MAX_SIGNER_NAME,
    ReceivedCopy, attestation_text, signer_name,
};
pub use certifications::{
    ANY_STANDARD, CUSTOM_PREFIX, Certification, MAX_CERT_FIELD, MAX_REQUIRED_STANDARDS, STANDARDS,
    required_standards, standard_key, standard_title, text_field, utc_date, utc_time,
};
pub use codes::{ErrorCode, Kind};
pub use conditions::{
    AccessWindow, Cidr, ConditionError, MAX_TAGS, MAX_ZONE_RANGES, MAX_ZONES, NetworkZone,
    is_country, tags, zone_of,
};
pub use courses::{
    Course, CourseCompletion, CourseContent, CoursePage, CourseVersion, MAX_ATTEMPTS_PER_HOUR,
    MAX_CHOICE_CHARS, MAX_CHOICES, MAX_COURSE_TITLE, MAX_PAGE_CHARS, MAX_PAGES, MAX_QUESTION_CHARS,
    MAX_QUESTIONS, MAX_REQUIRED_COURSES, MAX_VALIDITY_DAYS, Question, QuestionForTaker, QuizResult,
    link_allowed, render_markdown, required_courses,
};
pub use ids::*;
pub use inputs::{BadJustification, ByteRange, Justification, MAX_JUSTIFICATION, Unsatisfiable};
pub use links::{Link, LinkClosed, LinkMode, MAX_LINK_DOWNLOADS, MAX_LINK_RECIPIENTS, link_end};
pub use mail::{MailAddress, MailDigest, MailTemplate, RenderedMail};
pub use path::{FilePath, PathError, invisible};
pub use types::*;
pub use upload_requests::{
    DropOutcome, MAX_NAME_TRIES, MAX_REQUEST_FILES, MAX_REQUEST_MESSAGE, RequestClosed,
    UploadRequest, folder_prefix, numbered_name,
};
