//! The administrators' custom detectors (keywords, dictionaries, regular
//! expressions, pattern rules), kept in the store and compiled into the
//! scanner in force: a change alters the ruleset digest, so stored verdicts
//! are renewed on their next outbound use. A gitleaks configuration is
//! imported as pattern rules in one transaction, merged with the stored
//! rules or replacing them. Listing needs `dlp.review`; changes are admin
//! only (`policy.apply`), recorded as `dlp.rule_add` and `dlp.rule_remove`
//! (one per rule an import adds, replaces or removes).

use dlp::gitleaks::Import;
use dlp::{CustomRule, Severity};
use kernel::events::{Fact, record};
use kernel::{AppError, Authorized, ErrorCode, EventName, System, act};

use crate::Rooms;

impl Rooms<'_> {
    /// The custom detectors, by id.
    pub async fn dlp_rules(
        &self,
        auth: Authorized<'_, act::DlpReview, System>,
    ) -> Result<Vec<CustomRule>, AppError> {
        let _ = auth.into_parts();
        self.store()
            .read()
            .await?
            .dlp_rules()
            .await?
            .iter()
            .map(|(id, text)| {
                serde_json::from_str(text)
                    .map_err(|e| AppError::internal(format!("custom rule `{id}`: {e}")))
            })
            .collect()
    }

    /// Adds a custom detector after compiling it (a bad id, an empty list, a
    /// regular expression that does not parse or is too large are refused).
    pub async fn add_dlp_rule(
        &self,
        auth: Authorized<'_, act::PolicyApply, System>,
        rule: CustomRule,
    ) -> Result<CustomRule, AppError> {
        let (meta, p, _) = auth.into_parts();
        let config = dlp::ScanConfig {
            custom: vec![rule.clone()],
            ..dlp::ScanConfig::default()
        };
        dlp::Scanner::new(config).map_err(rule_error)?;
        let text = serde_json::to_string(&rule).map_err(AppError::internal)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.insert_dlp_rule(&rule.id, &text, p.user_id, now).await?;
        let detail = serde_json::to_value(&rule).map_err(AppError::internal)?;
        let fact = Fact::allowed(
            Some(p),
            EventName::DlpRuleAdd,
            format!("dlp_rule:{}", rule.id),
        );
        record(&mut tx, meta, now, fact.with(detail)).await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Imports the gitleaks configuration `text` as pattern rules of
    /// `severity`: with [`ImportMode::Merge`] they replace the stored rules
    /// of the same ids and the others stay, with [`ImportMode::Replace`]
    /// they replace every stored rule. The ruleset that results must
    /// compile; nothing is stored otherwise.
    pub async fn import_gitleaks(
        &self,
        auth: Authorized<'_, act::PolicyApply, System>,
        text: &str,
        mode: ImportMode,
        severity: Severity,
    ) -> Result<Imported, AppError> {
        let (meta, p, _) = auth.into_parts();
        let import = dlp::gitleaks::import(text, severity).map_err(rule_error)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut kept = Vec::new();
        let mut removed = Vec::new();
        for (id, text) in tx.dlp_rules().await? {
            if mode == ImportMode::Replace || import.rules.iter().any(|r| r.id == id) {
                removed.push(id);
            } else {
                let rule: CustomRule = serde_json::from_str(&text)
                    .map_err(|e| AppError::internal(format!("custom rule `{id}`: {e}")))?;
                kept.push(rule);
            }
        }
        kept.extend(import.rules.iter().cloned());
        let config = dlp::ScanConfig {
            custom: kept,
            ..dlp::ScanConfig::default()
        };
        dlp::Scanner::new(config).map_err(rule_error)?;
        let source = serde_json::json!({ "import": "gitleaks" });
        for id in &removed {
            tx.delete_dlp_rule(id).await?;
            let fact = Fact::allowed(Some(p), EventName::DlpRuleRemove, format!("dlp_rule:{id}"));
            record(&mut tx, meta, now, fact.with(source.clone())).await?;
        }
        for rule in &import.rules {
            let text = serde_json::to_string(rule).map_err(AppError::internal)?;
            tx.insert_dlp_rule(&rule.id, &text, p.user_id, now).await?;
            let mut detail = serde_json::to_value(rule).map_err(AppError::internal)?;
            detail["import"] = "gitleaks".into();
            let fact = Fact::allowed(
                Some(p),
                EventName::DlpRuleAdd,
                format!("dlp_rule:{}", rule.id),
            );
            record(&mut tx, meta, now, fact.with(detail)).await?;
        }
        tx.commit().await?;
        Ok(Imported { import, removed })
    }

    /// Removes a custom detector.
    pub async fn remove_dlp_rule(
        &self,
        auth: Authorized<'_, act::PolicyApply, System>,
        id: &str,
    ) -> Result<(), AppError> {
        let (meta, p, _) = auth.into_parts();
        let mut tx = self.store().begin().await?;
        if !tx.delete_dlp_rule(id).await? {
            return Err(AppError::NotFound);
        }
        let fact = Fact::allowed(Some(p), EventName::DlpRuleRemove, format!("dlp_rule:{id}"));
        record(&mut tx, meta, self.now(), fact).await?;
        Ok(tx.commit().await?)
    }
}

/// How an import treats the custom rules already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Imported rules replace the stored rules of the same ids; the others stay.
    Merge,
    /// The imported rules replace every stored custom rule.
    Replace,
}

impl ImportMode {
    /// Parses `merge` or `replace`.
    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "merge" => Ok(Self::Merge),
            "replace" => Ok(Self::Replace),
            other => Err(AppError::invalid(
                ErrorCode::InvalidField,
                format!("unknown import mode `{other}`: expected merge or replace"),
            )),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The rules imported, those skipped and the settings not honoured.
    pub import: Import,
    /// The stored rules removed (replaced by an imported rule of the same
    /// id, or all of them with [`ImportMode::Replace`]).
    pub removed: Vec<String>,
}

/// Why a custom detector was refused, as the caller should see it. One rule
/// alone cannot repeat an id, and its severity is typed: those two, and a
/// document registry's duplicate, are not the caller's to cause here.
fn rule_error(e: dlp::DlpError) -> AppError {
    let code = match &e {
        dlp::DlpError::BadRegex { .. } => ErrorCode::DlpBadRegex,
        dlp::DlpError::RegexTooLarge { .. } => ErrorCode::DlpRegexTooLarge,
        dlp::DlpError::BadRuleId(_) => ErrorCode::DlpBadRuleId,
        dlp::DlpError::EmptyRule(_) => ErrorCode::DlpEmptyRule,
        dlp::DlpError::BadPatternRule { .. } => ErrorCode::DlpBadPatternRule,
        dlp::DlpError::BadGitleaksConfig(_) => ErrorCode::DlpBadGitleaksConfig,
        dlp::DlpError::DuplicateRule(_)
        | dlp::DlpError::BadSeverity(_)
        | dlp::DlpError::DuplicateDocument(_)
        | dlp::DlpError::BadFingerprints(_) => {
            return AppError::internal(format!("custom rule: {e}"));
        }
    };
    AppError::invalid(code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue's code of each refusal is the dlp crate's own string.
    #[test]
    fn refused_rules_keep_the_dlp_codes() {
        let check = |e: dlp::DlpError| {
            let want = e.code();
            assert_eq!(rule_error(e).code().as_str(), want);
        };
        check(dlp::DlpError::BadRegex {
            rule: "r".into(),
            reason: "(".into(),
        });
        check(dlp::DlpError::RegexTooLarge {
            rule: "r".into(),
            limit: 1,
        });
        check(dlp::DlpError::BadRuleId("R".into()));
        check(dlp::DlpError::EmptyRule("r".into()));
        check(dlp::DlpError::BadPatternRule {
            rule: "r".into(),
            reason: "x".into(),
        });
        check(dlp::DlpError::BadGitleaksConfig("x".into()));
    }
}
