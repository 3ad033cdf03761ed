//! The governance use-cases: what the owner demands of the parties it shares
//! with, and how the rules of access are changed. Three services over the
//! kernel's [`App`](kernel::App), each use-case taking the seam's proof:
//! [`Assessments`] (due diligence: questionnaire templates, assessments and
//! their sign-off into a party's risk tier, the sharing risk matrix),
//! [`Agreements`] (agreements issued to parties, their templates, each user's
//! notifications and the expiry sweep that writes them) and [`Policies`] (the
//! policy set's administration — list, versions, propose, apply, simulate,
//! what-if — and the facts behind the access conditions: network zones,
//! training) and [`Certifications`] (parties' certificates, recorded and
//! verified, what rooms and classifications require, parties' sponsors).
//! [`Courses`] (training: courses in versions, quizzes scored on the server,
//! completions, what rooms and classifications require).
//! [`Reviews`] (access-review campaigns: scope, reviewers, decisions, the due
//! date that applies them, recurrence). [`Holds`] (legal holds) and
//! [`Incidents`] (incident cases from detection to lessons learned).
//! Two background tasks take the `App` itself:
//! [`spawn_sweeper`] and [`spawn_refresher`].

mod agreements;
mod assessments;
mod certifications;
mod conditions;
mod courses;
mod expiry;
mod holds;
mod incidents;
mod policies;
mod reviews;
mod whatif;

pub use agreements::{Agreements, NewAgreement, NewTemplate};
pub use assessments::{AssessmentView, Assessments, MAX_REASONS};
pub use certifications::{
    Certifications, ClassificationRequirements, MAX_EVIDENCE_FILES, NewCertification,
};
pub use courses::{
    Attempt, CourseRecord, CourseStatus, CourseToTake, Courses, ExternalCompletion,
    MAX_LISTED_COMPLETIONS, UserCourse, status_of,
};
pub use expiry::spawn_sweeper;
pub use holds::{HoldScope, Holds};
pub use incidents::{
    IncidentView, Incidents, MAX_TIMELINE, MessageTemplate, NewIncident, TraceResult,
};
pub use policies::{
    Policies, PolicyChange, PolicyProposal, PolicyState, PolicyText, PolicyVersion, Simulation,
    spawn_refresher,
};
pub use reviews::{
    CampaignSummary, CampaignView, NewCampaign, ReviewRow, Reviews, check_justification, report_csv,
};
pub use store::LegalHold;
pub use whatif::{DecisionChange, MAX_DAYS, WhatIf, WhatIfDecision};
