//! The built-in detectors as data: an id, a message, a severity and
//! confidence, what triggers the detector (literal anchors, a cluster of
//! digits, an `@`), the pattern that confirms it (its `s` group, when present,
//! is the sensitive value) and the check the value must pass.
//!
//! Anchors starting with `~` are case-insensitive words (matched in lower,
//! UPPER and Title case). Rank orders overlapping findings: the lower rank
//! (the more specific detector) wins.

use crate::Severity::{self, Critical, High, Low, Medium};

/// What makes the engine look closer at a place in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Any of these literals.
    Anchors(&'static [&'static str]),
    /// A cluster of at least six digits.
    Digits,
    /// An `@`.
    At,
}

/// The check a matched value must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// The pattern is enough (placeholders are still refused).
    None,
    /// Must look random for its charset (and not be a reference).
    Random,
    Jwt,
    Card,
    Iban,
    UsSsn,
    UkNino,
    FrNir,
    DeSteuerId,
    EsDni,
    Email,
    Phone,
    /// A marking: no placeholder check.
    Marking,
    /// A password: not a placeholder, reference or word, of some variety.
    Password,
    /// A private-key block with a body of key material.
    PemBody,
    /// Base64 that decodes to a JWT.
    Base64Jwt,
    /// A hexadecimal value of mixed digits and letters.
    Hex,
    /// Base64 of `user:password`.
    BasicAuth,
}

impl Check {
    /// What the check verifies, in a few words (`none` when the pattern decides).
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Check::None => "not a placeholder",
            Check::Random => "entropy for its charset, not a reference or placeholder",
            Check::Jwt => "header decodes to JSON naming an algorithm",
            Check::Card => "Luhn and issuer length; not inside an IBAN",
            Check::Iban => "IBAN registry length for the country and mod-97",
            Check::UsSsn => "area, group and serial ranges; compact only after its name",
            Check::UkNino => "prefix letters and suffix",
            Check::FrNir => "month and mod-97 key",
            Check::DeSteuerId => "digit repetition and ISO 7064 check digit",
            Check::EsDni => "mod-23 letter",
            Check::Email => "not a documentation domain or image name",
            Check::Phone => {
                "numbering plan: E.164 country code and length, national trunk prefix and length, NANP area and exchange; not inside an IBAN"
            }
            Check::Marking => "none",
            Check::Password => "not a placeholder, reference or plain word; two character classes",
            Check::PemBody => "at least 40 bytes of base64 key material",
            Check::Base64Jwt => "decodes to a JWT whose header names an algorithm",
            Check::Hex => "digits and letters mixed, not a placeholder",
            Check::BasicAuth => "decodes to user:password, both present, not a placeholder",
        }
    }
}

/// A built-in detector's confirming pattern and what runs after it, for
/// tools that compare the engine with a plain regular-expression search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinPattern {
    /// The detector id.
    pub id: &'static str,
    /// The pattern (Rust `regex` syntax) the engine runs near a trigger.
    pub pattern: &'static str,
    /// What the matched value must pass afterwards (`none` when the pattern
    /// decides).
    pub check: &'static str,
}

/// The patterns of every built-in detector, in the engine's order.
pub fn builtin_patterns() -> Vec<BuiltinPattern> {
    RULES
        .iter()
        .map(|r| BuiltinPattern {
            id: r.id,
            pattern: r.pattern,
            check: r.check.describe(),
        })
        .collect()
}

/// One built-in detector.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub id: &'static str,
    pub message: &'static str,
    pub severity: Severity,
    pub confidence: f32,
    pub trigger: Trigger,
    pub pattern: &'static str,
    pub check: Check,
    pub rank: u8,
    /// Bytes before and after a trigger that the pattern may span.
    pub reach: (usize, usize),
}

const NEAR: (usize, usize) = (96, 256);
const BLOCK: (usize, usize) = (8, 16384);

const fn token(
    id: &'static str,
    message: &'static str,
    severity: Severity,
    anchors: &'static [&'static str],
    pattern: &'static str,
) -> Rule {
    Rule {
        id,
        message,
        severity,
        confidence: 0.95,
        trigger: Trigger::Anchors(anchors),
        pattern,
        check: Check::None,
        rank: 0,
        reach: NEAR,
    }
}

const fn context(
    id: &'static str,
    message: &'static str,
    severity: Severity,
    anchors: &'static [&'static str],
    pattern: &'static str,
) -> Rule {
    Rule {
        id,
        message,
        severity,
        confidence: 0.8,
        trigger: Trigger::Anchors(anchors),
        pattern,
        check: Check::Random,
        rank: 0,
        reach: NEAR,
    }
}

const fn pem(
    id: &'static str,
    message: &'static str,
    label: &'static [&'static str],
    pattern: &'static str,
) -> Rule {
    Rule {
        id,
        message,
        severity: Critical,
        confidence: 0.99,
        trigger: Trigger::Anchors(label),
        pattern,
        check: Check::PemBody,
        rank: 0,
        reach: BLOCK,
    }
}

const fn pii(
    id: &'static str,
    message: &'static str,
    severity: Severity,
    pattern: &'static str,
    check: Check,
) -> Rule {
    Rule {
        id,
        message,
        severity,
        confidence: 0.9,
        trigger: Trigger::Digits,
        pattern,
        check,
        rank: 1,
        reach: (200, 200),
    }
}

const fn marking(
    id: &'static str,
    message: &'static str,
    severity: Severity,
    anchors: &'static [&'static str],
    pattern: &'static str,
) -> Rule {
    Rule {
        id,
        message,
        severity,
        confidence: 0.9,
        trigger: Trigger::Anchors(anchors),
        pattern,
        check: Check::Marking,
        rank: 0,
        reach: (96, 96),
    }
}

/// Every built-in detector.
pub(crate) const RULES: &[Rule] = &[
    // Cloud providers.
    token(
        "aws.access_key_id",
        "AWS access key id",
        Critical,
        &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        r"\b(?P<s>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})\b",
    ),
    context(
        "aws.secret_access_key",
        "AWS secret access key",
        Critical,
        &["~secret"],
        r#"(?i)(?:aws_?secret(?:_access)?_?key|secret_?access_?key|aws secret(?: access)? key)["']?\s*(?::|=|=>)\s*["']?(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
    ),
    Rule {
        reach: BLOCK,
        ..token(
            "gcp.service_account_key",
            "Google Cloud service-account private key",
            Critical,
            &["\"private_key\""],
            r#""private_key"\s*:\s*"-----BEGIN PRIVATE KEY-----(?P<s>(?:\\n|[A-Za-z0-9+/=])+)-----END PRIVATE KEY-----(?:\\n)?""#,
        )
    },
    token(
        "gcp.api_key",
        "Google API key",
        High,
        &["AIza"],
        r"\b(?P<s>AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)",
    ),
    token(
        "gcp.oauth_client_secret",
        "Google OAuth client secret",
        High,
        &["GOCSPX-"],
        r"\b(?P<s>GOCSPX-[0-9A-Za-z_\-]{28})(?:[^0-9A-Za-z_\-]|$)",
    ),
    token(
        "azure.storage_connection_string",
        "Azure storage connection string with an account key",
        Critical,
        &["AccountKey="],
        r"AccountName=[^;\s]+;\s*AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)",
    ),
    context(
        "azure.storage_account_key",
        "Azure storage account key",
        Critical,
        &[
            "azure",
            "AZURE",
            "Azure",
            "_key",
            "_KEY",
            "Key",
            "-key",
            "AccountKey",
        ],
        r#"(?i)(?:azure|storage|account|blob)[\w.\-]{0,30}key[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?P<s>[A-Za-z0-9+/]{86}==)"#,
    ),
    token(
        "azure.sas_token",
        "Azure shared access signature",
        High,
        &["sv="],
        r"sv=20\d\d-\d\d-\d\d&[^\s]{0,300}?sig=(?P<s>[A-Za-z0-9%+/]{40,}(?:%3D|=)?)",
    ),
    // Source forges and package registries.
    token(
        "github.classic_pat",
        "GitHub personal access token (classic)",
        High,
        &["ghp_"],
        r"\b(?P<s>ghp_[A-Za-z0-9]{36})\b",
    ),
    token(
        "github.oauth_token",
        "GitHub OAuth access token",
        High,
        &["gho_"],
        r"\b(?P<s>gho_[A-Za-z0-9]{36})\b",
    ),
    token(
        "github.app_token",
        "GitHub App token",
        High,
        &["ghu_", "ghs_"],
        r"\b(?P<s>gh[us]_[A-Za-z0-9]{36})\b",
    ),
    token(
        "github.refresh_token",
        "GitHub refresh token",
        High,
        &["ghr_"],
        r"\b(?P<s>ghr_[A-Za-z0-9]{36,76})\b",
    ),
    token(
        "github.fine_grained_pat",
        "GitHub fine-grained personal access token",
        High,
        &["github_pat_"],
        r"\b(?P<s>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
    ),
    token(
        "gitlab.pat",
        "GitLab personal access token",
        High,
        &["glpat-"],
        r"\b(?P<s>glpat-[A-Za-z0-9_\-.]{20,300})(?:[^A-Za-z0-9_\-.]|$)",
    ),
    token(
        "gitlab.token",
        "GitLab token (OAuth application secret, CI/CD job, trigger, feed, incoming mail, agent, SCIM, feature-flag client)",
        High,
        &[
            "gloas-", "glcbt-", "glptt-", "glft-", "glimt-", "glagent-", "glsoat-", "glffct-",
            "glrtr-",
        ],
        r"\b(?P<s>(?:gloas|glcbt|glptt|glft|glimt|glagent|glsoat|glffct|glrtr)-[A-Za-z0-9_\-.]{20,300})(?:[^A-Za-z0-9_\-.]|$)",
    ),
    token(
        "gitlab.runner_token",
        "GitLab runner token",
        High,
        &["glrt-", "GR1348941"],
        r"\b(?P<s>(?:glrt-|GR1348941)[A-Za-z0-9_\-.]{20,300})",
    ),
    token(
        "gitlab.deploy_token",
        "GitLab deploy token",
        High,
        &["gldt-"],
        r"\b(?P<s>gldt-[A-Za-z0-9_\-.]{20,300})",
    ),
    token(
        "npm.token",
        "npm access token",
        High,
        &["npm_"],
        r"\b(?P<s>npm_[A-Za-z0-9]{36})\b",
    ),
    token(
        "pypi.token",
        "PyPI upload token",
        High,
        &["pypi-"],
        r"\b(?P<s>pypi-Ag(?:EIcHlwaS5vcmc|ENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,})",
    ),
    token(
        "dockerhub.pat",
        "Docker Hub personal access token",
        High,
        &["dckr_pat_"],
        r"\b(?P<s>dckr_pat_[A-Za-z0-9_\-]{27})(?:[^A-Za-z0-9_\-]|$)",
    ),
    // Collaboration, payments, messaging.
    token(
        "slack.token",
        "Slack token",
        High,
        &[
            "xoxa-", "xoxb-", "xoxe-", "xoxo-", "xoxp-", "xoxr-", "xoxs-",
        ],
        r"\b(?P<s>xox[abeoprs]-(?:[0-9]{1,13}-){1,4}[A-Za-z0-9][A-Za-z0-9\-]{7,80}|xoxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{100,250}|xox[abeoprs]-[A-Za-z0-9]{10,12}-[A-Za-z0-9]{10,48}|xox[ar]-[A-Za-z0-9]{8,48})\b",
    ),
    token(
        "slack.app_token",
        "Slack app-level token",
        High,
        &["xapp-"],
        r"\b(?P<s>xapp-\d-[A-Z0-9]{9,12}-\d{10,13}-[a-f0-9]{64})\b",
    ),
    token(
        "slack.webhook",
        "Slack incoming webhook",
        High,
        &["hooks.slack.com/"],
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?:(?P<s>T[A-Z0-9]{6,12}/[A-Z0-9]{6,12}/(?:\d{6,20}/)?[A-Za-z0-9]{20,40}|T[A-Z0-9]{6,12}/\d{6,20}/[A-Za-z0-9]{20,40})|(?P<s2>[A-Za-z0-9+/]{43,56}))",
    ),
    token(
        "stripe.live_key",
        "Stripe live secret or restricted key",
        Critical,
        &["k_live_", "k_prod_"],
        r"\b(?P<s>[sr]k_(?:live|prod)_[0-9a-zA-Z]{10,99})\b",
    ),
    token(
        "stripe.test_key",
        "Stripe test secret or restricted key",
        Medium,
        &["k_test_"],
        r"\b(?P<s>[sr]k_test_[0-9a-zA-Z]{10,99})\b",
    ),
    token(
        "stripe.webhook_secret",
        "Stripe webhook signing secret",
        High,
        &["whsec_"],
        r"\b(?P<s>whsec_[A-Za-z0-9+/=]{32,88})(?:[^A-Za-z0-9+/=]|$)",
    ),
    Rule {
        check: Check::Hex,
        ..token(
            "twilio.api_key",
            "Twilio API key or account id",
            High,
            // Near the name of the service or of the id, as written in code and
            // configuration (`SK…`/`AC…` alone are too short to search).
            &[
                "~twilio", "_sid", "_SID", "SID=", "sid=", "Sid=", "SID:", "sid:", "Sid:",
            ],
            r"\b(?:SK|AC)(?P<s>[0-9a-fA-F]{32})\b",
        )
    },
    context(
        "twilio.auth_token",
        "Twilio auth token",
        High,
        &["~twilio"],
        r#"(?i)twilio[\w.\-]{0,20}(?:auth)?[_\-]?token["']?\s*(?::|=|=>)\s*["']?(?P<s>[0-9a-f]{32})\b"#,
    ),
    token(
        "sendgrid.api_key",
        "SendGrid API key",
        High,
        &["SG."],
        r"\b(?P<s>SG\.(?:[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}|[A-Za-z0-9_\-.=]{66}))(?:[^A-Za-z0-9_\-.=]|$)",
    ),
    token(
        "mailgun.api_key",
        "Mailgun API key",
        High,
        &["key-"],
        r"\b(?P<s>key-[0-9a-f]{32})\b",
    ),
    Rule {
        ..token(
            "mailgun.key",
            "Mailgun private API key or webhook signing key",
            High,
            &[
                "token", "TOKEN", "Token", "_key", "_KEY", "Key", "secret", "SECRET", "Secret",
            ],
            r#"(?i)(?:\b[0-9a-h]{32}-[0-9a-h]{8}-[0-9a-h]{8}\b|(?:mailgun|mg)[\w.\-]{0,30}(?:key|secret|token)[\w\-]*["']?[ \t]*(?::=|:|=|=>)[ \t]*["']?(?P<s>(?:key-|pubkey-)?[0-9a-z]{32}(?:-[0-9a-z]{8}-[0-9a-z]{8})?)\b)"#,
        )
    },
    token(
        "mailchimp.api_key",
        "Mailchimp API key",
        High,
        &["-us"],
        r"\b(?P<s>[0-9a-f]{32}-us[0-9]{1,2})\b",
    ),
    Rule {
        check: Check::None,
        ..context(
            "heroku.api_key",
            "Heroku API key",
            High,
            &["heroku", "HEROKU"],
            r#"(?i)heroku[\w.\-]{0,20}(?:key|token)["']?\s*(?::|=|=>)\s*["']?(?P<s>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"#,
        )
    },
    token(
        "heroku.platform_key",
        "Heroku platform API key",
        High,
        &["HRKU-"],
        r"\b(?P<s>HRKU-[A-Za-z0-9_\-]{60})",
    ),
    token(
        "shopify.token",
        "Shopify access token",
        High,
        &["shpat_", "shpca_", "shppa_", "shpss_"],
        r"\b(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
    ),
    token(
        "square.token",
        "Square access token or secret",
        High,
        &["sq0atp-", "sq0csp-", "EAA"],
        r"\b(?P<s>sq0atp-[0-9A-Za-z_\-]{22}|sq0csp-[0-9A-Za-z_\-]{43}|EAAA[A-Za-z0-9_\-]{22,60})(?:[^0-9A-Za-z_\-]|$)",
    ),
    context(
        "discord.bot_token",
        "Discord bot token",
        High,
        &["discord", "DISCORD"],
        r"\b(?P<s>[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})\b",
    ),
    context(
        "discord.client_secret",
        "Discord client secret",
        High,
        &["discord", "DISCORD"],
        r#"(?i)discord[\w.\-]{0,30}(?:secret|token|key)[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?P<s>[a-f0-9]{64}|[A-Za-z0-9_\-=]{32})(?:[^A-Za-z0-9_\-.=]|$)"#,
    ),
    token(
        "discord.webhook",
        "Discord webhook",
        High,
        &["discord"],
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/(?P<s>[A-Za-z0-9_\-]{60,68})",
    ),
    token(
        "telegram.bot_url",
        "Telegram bot API URL with its token",
        High,
        &["api.telegram.org/"],
        r"api\.telegram\.org/bot(?P<s>[0-9]{5,16}:A[0-9A-Za-z_\-]{34})(?:[^0-9A-Za-z_\-]|$)",
    ),
    // The bot id is a cluster of digits: the digit pass triggers it.
    Rule {
        trigger: Trigger::Digits,
        reach: (0, 64),
        ..token(
            "telegram.bot_token",
            "Telegram bot token",
            High,
            &[],
            r"(?:^|[^0-9])(?P<s>[0-9]{5,16}:A[0-9A-Za-z_\-]{34})(?:[^0-9A-Za-z_\-]|$)",
        )
    },
    // AI and infrastructure.
    token(
        "openai.api_key",
        "OpenAI API key",
        High,
        &["T3BlbkFJ", "sk-"],
        r"\b(?P<s>sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,200}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?:[^A-Za-z0-9_\-]|$)",
    ),
    token(
        "anthropic.api_key",
        "Anthropic API key",
        High,
        &["sk-"],
        r"\b(?P<s>sk-ant-[a-z]{3,6}\d{2}-[A-Za-z0-9_\-]{80,120})(?:[^A-Za-z0-9_\-]|$)",
    ),
    token(
        "huggingface.token",
        "Hugging Face access token",
        High,
        &["hf_"],
        r"\b(?P<s>hf_[A-Za-z]{34})\b",
    ),
    token(
        "vault.token",
        "HashiCorp Vault token",
        High,
        &["hvs.", "hvb.", "hvr."],
        r"\b(?P<s>hv[sbr]\.[A-Za-z0-9_\-]{24,400})(?:[^A-Za-z0-9_\-]|$)",
    ),
    token(
        "vault.legacy_token",
        "HashiCorp Vault token (legacy service or batch)",
        High,
        &["token", "TOKEN", "Token", "_key", "_KEY", "Key"],
        r#"(?i)vault[\w.\-]{0,20}(?:token|key|secret)?[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?-i:(?P<s>s\.[A-Za-z0-9]{24}|b\.[A-Za-z0-9_\-]{60,300}))(?:[^A-Za-z0-9_\-]|$)"#,
    ),
    token(
        "terraform.api_token",
        "HashiCorp Terraform Cloud API token",
        High,
        &[".atlasv1."],
        r"\b(?P<s>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70})",
    ),
    context(
        "datadog.api_key",
        "Datadog API or application key",
        High,
        &["datadog", "DATADOG", "DD_", "dd_"],
        r#"(?i)(?:datadog|dd)[_\-]?(?:api|app|application)?[_\-]?key["']?\s*(?::|=|=>)\s*["']?(?P<s>[0-9a-z]{40}|[0-9a-z]{32})\b"#,
    ),
    token(
        "newrelic.key",
        "New Relic API key",
        High,
        &[
            "NRAK-", "NRAA-", "NRBR-", "NRII-", "NRIQ-", "NRJS-", "NRRA-", "NRAL",
        ],
        r"\b(?P<s>NR(?:AK|AA|BR|II|IQ|JS|RA)-[A-Za-z0-9_\-]{19,40}|[a-f0-9]{36}NRAL)(?:[^A-Za-z0-9_\-]|$)",
    ),
    token(
        "sentry.dsn",
        "Sentry DSN with its key",
        Medium,
        &["sentry.io/"],
        r"https://(?P<s>[0-9a-f]{32})@[a-z0-9.\-]+\.sentry\.io/\d+",
    ),
    token(
        "sentry.auth_token",
        "Sentry auth token",
        High,
        &["sntrys_", "sntryu_"],
        r"\b(?P<s>sntry[su]_[A-Za-z0-9+/=_]{40,})",
    ),
    Rule {
        check: Check::Jwt,
        reach: (8, 8192),
        ..token(
            "jwt",
            "JSON Web Token",
            High,
            &["eyJ"],
            r"\b(?P<s>eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{2,}\.(?:[A-Za-z0-9_\-]{16,})?)",
        )
    },
    Rule {
        check: Check::Base64Jwt,
        reach: (8, 8192),
        ..token(
            "jwt.base64",
            "base64-wrapped JSON Web Token",
            High,
            &["ZXlK"],
            r"(?:^|[^A-Za-z0-9+/])(?P<s>ZXlK[A-Za-z0-9+/]{40,}={0,2})",
        )
    },
    // Providers by their documented token prefixes.
    token(
        "azure.ad_client_secret",
        "Microsoft Entra ID (Azure AD) client secret",
        High,
        &[
            "0Q~", "1Q~", "2Q~", "3Q~", "4Q~", "5Q~", "6Q~", "7Q~", "8Q~", "9Q~",
        ],
        r"(?:^|[^A-Za-z0-9_~.\-])(?P<s>[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)",
    ),
    token(
        "aws.appsync_key",
        "AWS AppSync API key",
        High,
        &["da2-"],
        r"\b(?P<s>da2-[a-z0-9]{26})\b",
    ),
    token(
        "nuget.api_key",
        "NuGet API key",
        High,
        &["oy2"],
        r"\b(?P<s>oy2[a-z0-9]{43})\b",
    ),
    token(
        "age.secret_key",
        "age secret key",
        Critical,
        &["AGE-SECRET-KEY-1"],
        r"\b(?P<s>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
    ),
    token(
        "digitalocean.token",
        "DigitalOcean token (personal access, OAuth, refresh)",
        High,
        &["dop_v1_", "doo_v1_", "dor_v1_"],
        r"\b(?P<s>do[opr]_v1_[a-f0-9]{64})\b",
    ),
    Rule {
        check: Check::Random,
        ..token(
            "notion.token",
            "Notion integration token",
            High,
            &["ntn_", "secret_"],
            r"\b(?P<s>ntn_[0-9]{11}[A-Za-z0-9]{32,40}|secret_[A-Za-z0-9]{43})\b",
        )
    },
    token(
        "postman.api_key",
        "Postman API key",
        High,
        &["PMAK-"],
        r"\b(?P<s>PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b",
    ),
    token(
        "rubygems.api_key",
        "RubyGems API key",
        High,
        &["rubygems_"],
        r"\b(?P<s>rubygems_[a-f0-9]{48})\b",
    ),
    token(
        "brevo.api_key",
        "Brevo (Sendinblue) API or SMTP key",
        High,
        &["xkeysib-", "xsmtpsib-"],
        r"\b(?P<s>x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16})\b",
    ),
    Rule {
        check: Check::None,
        ..context(
            "snyk.api_token",
            "Snyk API token",
            High,
            &[
                "token", "TOKEN", "Token", "_key", "_KEY", "Key", "auth=", "AUTH=",
            ],
            r#"(?i)snyk[\w.\-]{0,30}(?:token|key|auth|secret)[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?P<s>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"#,
        )
    },
    token(
        "sonar.token",
        "SonarQube or SonarCloud token",
        High,
        &["squ_", "sqp_", "sqa_"],
        r"\b(?P<s>sq[upa]_[A-Za-z0-9]{40})\b",
    ),
    Rule {
        ..context(
            "sonar.legacy_token",
            "SonarQube token (unprefixed)",
            High,
            &[
                "sonar_", "SONAR_", "login=", "login:", "token", "TOKEN", "Token", "_key", "_KEY",
                "Key",
            ],
            r#"(?i)sonar[\w.\-]{0,30}(?:token|login|key)[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?P<s>[a-z0-9]{40})\b"#,
        )
    },
    token(
        "sourcegraph.token",
        "Sourcegraph access token",
        High,
        &["sgp_"],
        r"\b(?P<s>sgp_(?:local_|[a-f0-9]{16}_)?[a-f0-9]{40})\b",
    ),
    token(
        "teams.webhook",
        "Microsoft Teams incoming webhook or workflow URL",
        High,
        &[
            "webhook.office.com/",
            "logic.azure.com:",
            "logic.azure.com/",
        ],
        r"https://(?:[a-z0-9\-]+\.webhook\.office\.com/webhookb2/[0-9a-z\-]{36}@[0-9a-z\-]{36}/IncomingWebhook/(?P<s>[0-9a-z]{32})/[0-9a-z\-]{36}|prod-\d+\.[a-z0-9\-]+\.logic\.azure\.com(?::443)?/workflows/[0-9a-f]{32}/triggers/[^\s?]+\?[^\s]*?sig=(?P<s2>[A-Za-z0-9_\-%]{30,}))",
    ),
    token(
        "artifactory.token",
        "JFrog Artifactory API key or reference token",
        High,
        &["AKCp", "cmVmd"],
        r"\b(?P<s>AKCp[A-Za-z0-9]{60,80}|cmVmd[A-Za-z0-9]{55,80})\b",
    ),
    context(
        "ibm.iam_api_key",
        "IBM Cloud IAM API key",
        High,
        &[
            "ibm", "IBM", "Ibm", "_key", "_KEY", "Key", "apikey", "APIKEY",
        ],
        r#"(?i)(?:ibm|cloudant|iam)[\w.\-]{0,30}(?:api[_\-]?key|apikey|key|token|secret|password)[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?P<s>[A-Za-z0-9_\-]{44})(?:[^A-Za-z0-9_\-]|$)"#,
    ),
    token(
        "doppler.token",
        "Doppler token",
        High,
        &["dp.p", "dp.s", "dp.c", "dp.a"],
        r"\b(?P<s>dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_\-.]{40,50})\b",
    ),
    token(
        "pulumi.token",
        "Pulumi access token",
        High,
        &["pul-"],
        r"\b(?P<s>pul-[a-f0-9]{40})\b",
    ),
    token(
        "linear.api_key",
        "Linear API key or OAuth token",
        High,
        &["lin_api_", "lin_oauth_"],
        r"\b(?P<s>lin_api_[A-Za-z0-9]{40}|lin_oauth_[a-f0-9]{64})\b",
    ),
    token(
        "grafana.token",
        "Grafana Cloud, service-account or API token",
        High,
        &["glc_", "glsa_", "eyJrIjoi"],
        r"\b(?P<s>glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{40,400}={0,3})",
    ),
    token(
        "huggingface.org_token",
        "Hugging Face organisation API token",
        High,
        &["api_org_"],
        r"\b(?P<s>api_org_[A-Za-z]{34})\b",
    ),
    token(
        "databricks.token",
        "Databricks personal access token",
        High,
        &["dapi"],
        r"\b(?P<s>dapi[a-f0-9]{32}(?:-\d)?)\b",
    ),
    token(
        "atlassian.api_token",
        "Atlassian API token",
        High,
        &["ATATT", "ATCTT"],
        r"\b(?P<s>AT[AC]TT[A-Za-z0-9_\-=]{150,300})(?:[^A-Za-z0-9_\-=]|$)",
    ),
    Rule {
        reach: (8, 2048),
        ..token(
            "dropbox.token",
            "Dropbox access token",
            High,
            &["sl."],
            r"\b(?P<s>sl\.(?:u\.)?[A-Za-z0-9_\-]{130,1500})(?:[^A-Za-z0-9_\-]|$)",
        )
    },
    token(
        "figma.token",
        "Figma personal access token",
        High,
        &["figd_", "token", "TOKEN", "Token", "_key", "_KEY", "Key"],
        r#"\b(?P<s>figd_[A-Za-z0-9_\-]{40})(?:[^A-Za-z0-9_\-]|$)|(?i:figma)[\w.\-]{0,30}(?i:token|key|secret)[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?P<s2>[0-9a-f]{4}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"#,
    ),
    Rule {
        reach: (8, 2048),
        ..token(
            "flyio.token",
            "Fly.io access token",
            High,
            &["FlyV1 ", "fo1_", "fm1r_", "fm2_"],
            r"\b(?P<s>FlyV1 fm[12][ar]?_[A-Za-z0-9+/=_,\-]{100,1500}|fo1_[A-Za-z0-9_\-]{43}|fm[12][ar]?_[A-Za-z0-9+/=_\-]{100,1500})",
        )
    },
    token(
        "planetscale.token",
        "PlanetScale token or password",
        High,
        &["pscale_"],
        r"\b(?P<s>pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-.]{32,64})\b",
    ),
    token(
        "supabase.token",
        "Supabase access token or secret key",
        High,
        &["sbp_", "sb_secret_"],
        r"\b(?P<s>sbp_(?:oauth_)?[a-f0-9]{40}|sb_secret_[A-Za-z0-9_\-]{31,64})\b",
    ),
    token(
        "vercel.token",
        "Vercel access token",
        High,
        &["vcp_", "vci_", "vca_", "vcr_", "vck_"],
        r"\b(?P<s>vc[pcark]_[A-Za-z0-9]{56})\b",
    ),
    context(
        "twitch.oauth_token",
        "Twitch OAuth token",
        High,
        &["oauth:", "twitch_", "TWITCH_"],
        r#"\b(?P<s>oauth:[a-z0-9]{30})\b|(?i:twitch)[\w.\-]{0,30}(?i:token|key|secret)[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?P<s2>[a-z0-9]{30})\b"#,
    ),
    token(
        "mapbox.secret_token",
        "Mapbox secret access token",
        High,
        &["sk.eyJ"],
        r"\b(?P<s>sk\.eyJ[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{20,})",
    ),
    token(
        "adafruit.io_key",
        "Adafruit IO key",
        Medium,
        &["aio_"],
        r"\b(?P<s>aio_[A-Za-z0-9]{28})\b",
    ),
    token(
        "clojars.token",
        "Clojars deploy token",
        High,
        &["CLOJARS_"],
        r"\b(?P<s>CLOJARS_[a-z0-9]{60})\b",
    ),
    token(
        "contentful.pat",
        "Contentful personal access token",
        High,
        &["CFPAT-"],
        r"\b(?P<s>CFPAT-[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)",
    ),
    token(
        "duffel.token",
        "Duffel API token",
        High,
        &["duffel_"],
        r"\b(?P<s>duffel_(?:test|live)_[A-Za-z0-9_\-=]{43})(?:[^A-Za-z0-9_\-=]|$)",
    ),
    token(
        "easypost.api_key",
        "EasyPost API key",
        High,
        &["EZAK", "EZTK"],
        r"\b(?P<s>EZ[AT]K[A-Za-z0-9]{54})\b",
    ),
    token(
        "flutterwave.key",
        "Flutterwave secret or encryption key",
        High,
        &["FLWSECK_", "FLWSECK-"],
        r"\b(?P<s>FLWSECK(?:_TEST)?-[a-h0-9]{12,32}(?:-X)?)",
    ),
    token(
        "frameio.token",
        "Frame.io API token",
        High,
        &["fio-u-"],
        r"\b(?P<s>fio-u-[A-Za-z0-9_\-=]{64})",
    ),
    token(
        "prefect.api_key",
        "Prefect API key",
        High,
        &["pnu_"],
        r"\b(?P<s>pnu_[A-Za-z0-9]{36})\b",
    ),
    token(
        "readme.api_key",
        "ReadMe API key",
        High,
        &["rdme_"],
        r"\b(?P<s>rdme_[a-z0-9]{70})\b",
    ),
    token(
        "shippo.token",
        "Shippo API token",
        High,
        &["shippo_"],
        r"\b(?P<s>shippo_(?:live|test)_[a-f0-9]{40})\b",
    ),
    token(
        "typeform.token",
        "Typeform personal access token",
        High,
        &["tfp_"],
        r"\b(?P<s>tfp_[A-Za-z0-9_\-.=]{59})",
    ),
    token(
        "netlify.token",
        "Netlify access token",
        High,
        &["nfp_"],
        r"\b(?P<s>nfp_[A-Za-z0-9]{36})\b",
    ),
    token(
        "render.api_key",
        "Render API key",
        High,
        &["rnd_"],
        r"\b(?P<s>rnd_[A-Za-z0-9]{32})\b",
    ),
    token(
        "replicate.token",
        "Replicate API token",
        High,
        &["r8_"],
        r"\b(?P<s>r8_[A-Za-z0-9]{37})\b",
    ),
    token(
        "groq.api_key",
        "Groq API key",
        High,
        &["gsk_"],
        r"\b(?P<s>gsk_[A-Za-z0-9]{52})\b",
    ),
    token(
        "xai.api_key",
        "xAI API key",
        High,
        &["xai-"],
        r"\b(?P<s>xai-[A-Za-z0-9]{80})\b",
    ),
    token(
        "perplexity.api_key",
        "Perplexity API key",
        High,
        &["pplx-"],
        r"\b(?P<s>pplx-[A-Za-z0-9]{48})\b",
    ),
    token(
        "tailscale.key",
        "Tailscale key",
        High,
        &["tskey-"],
        r"\b(?P<s>tskey-(?:auth|api|client|scim|webhook)-[A-Za-z0-9]{8,}-[A-Za-z0-9]{20,})",
    ),
    token(
        "onepassword.token",
        "1Password service-account token",
        High,
        &["ops_eyJ"],
        r"\b(?P<s>ops_eyJ[A-Za-z0-9+/_\-]{200,}={0,2})",
    ),
    token(
        "buildkite.token",
        "Buildkite agent or API token",
        High,
        &["bkua_", "bkat_"],
        r"\b(?P<s>bk(?:ua|at)_[a-f0-9]{40})\b",
    ),
    token(
        "circleci.token",
        "CircleCI personal API token",
        High,
        &["CCIPAT_"],
        r"\b(?P<s>CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40})\b",
    ),
    token(
        "scalingo.token",
        "Scalingo API token",
        High,
        &["tk-us-"],
        r"\b(?P<s>tk-us-[A-Za-z0-9_\-]{48})(?:[^A-Za-z0-9_\-]|$)",
    ),
    token(
        "infracost.api_key",
        "Infracost API key",
        High,
        &["ico-"],
        r"\b(?P<s>ico-[A-Za-z0-9]{32})\b",
    ),
    token(
        "deno.token",
        "Deno Deploy token",
        High,
        &["ddp_", "ddw_"],
        r"\b(?P<s>dd[pw]_[A-Za-z0-9]{36})\b",
    ),
    token(
        "github.actions_token",
        "GitHub Actions or enterprise token",
        High,
        &["ghe_"],
        r"\b(?P<s>ghe_[A-Za-z0-9]{36})\b",
    ),
    token(
        "mapbox.token_scope",
        "Mapbox temporary token",
        Medium,
        &["tk.eyJ"],
        r"\b(?P<s>tk\.eyJ[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{20,})",
    ),
    token(
        "lob.api_key",
        "Lob API key",
        High,
        &["live_", "test_"],
        r"\b(?P<s>(?:live|test)_[a-f0-9]{35})\b",
    ),
    Rule {
        check: Check::Random,
        ..token(
            "gocardless.token",
            "GoCardless access token",
            High,
            &["live_", "sandbox_"],
            r"\b(?P<s>(?:live|sandbox)_[A-Za-z0-9_\-=]{40})(?:[^A-Za-z0-9_\-=]|$)",
        )
    },
    token(
        "octopus.api_key",
        "Octopus Deploy API key",
        High,
        &["API-"],
        r"\b(?P<s>API-[A-Z0-9]{26,32})\b",
    ),
    token(
        "cloudflare.origin_ca_key",
        "Cloudflare Origin CA key",
        High,
        &["v1.0-"],
        r"\b(?P<s>v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b",
    ),
    token(
        "yandex.key",
        "Yandex Cloud API key or token",
        High,
        &["AQVN"],
        r"\b(?P<s>AQVN[A-Za-z0-9_\-]{35,38}|t1\.[A-Z0-9a-z_\-]+={0,2}\.[A-Z0-9a-z_\-]{86}={0,2})(?:[^A-Za-z0-9_\-]|$)",
    ),
    context(
        "okta.api_token",
        "Okta API token",
        High,
        &["token", "TOKEN", "Token", "_key", "_KEY", "Key"],
        r#"(?i)okta[\w.\-]{0,30}(?:token|key|secret)?[\w\-]*["']?[ \t]*(?::=|:|=|=>|,)[ \t]*["']?(?P<s>00[A-Za-z0-9_\-=]{40})(?:[^A-Za-z0-9_\-=]|$)"#,
    ),
    token(
        "sidekiq.credentials",
        "Sidekiq Pro/Enterprise credentials",
        High,
        &["CONTRIBSYS__", "://"],
        r"(?:BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM[ \t]*(?:=|:)[ \t]*[\x22']?(?P<s>[a-f0-9]{8}:[a-f0-9]{8})|https?://(?P<s2>[a-f0-9]{8}:[a-f0-9]{8})@(?:gems|enterprise)\.contribsys\.com)",
    ),
    token(
        "alibaba.access_key_id",
        "Alibaba Cloud AccessKey ID",
        High,
        &["LTAI"],
        r"\b(?P<s>LTAI[A-Za-z0-9]{17,21})\b",
    ),
    token(
        "dynatrace.token",
        "Dynatrace API token",
        High,
        &["dt0c01"],
        r"\b(?P<s>dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64})\b",
    ),
    token(
        "definednetworking.api_token",
        "Defined Networking API token",
        High,
        &["dnkey-"],
        r"\b(?P<s>dnkey-[A-Za-z0-9=_\-]{26}-[A-Za-z0-9=_\-]{52})",
    ),
    token(
        "openshift.token",
        "OpenShift user token",
        High,
        &["sha256~"],
        r"\b(?P<s>sha256~[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)",
    ),
    Rule {
        check: Check::Random,
        ..token(
            "facebook.access_token",
            "Facebook (Meta) access token",
            High,
            &["EAA"],
            r"\b(?P<s>EAA[MCG][A-Za-z0-9]{100,400})\b",
        )
    },
    token(
        "intra42.secret",
        "42 Intra client secret",
        High,
        &["s-s4t2ud-", "s-s4t2af-"],
        r"\b(?P<s>s-s4t2(?:ud|af)-[a-f0-9]{64})\b",
    ),
    token(
        "settlemint.token",
        "SettleMint access token",
        High,
        &["sm_pat_", "sm_aat_", "sm_sat_"],
        r"\b(?P<s>sm_(?:pat|aat|sat)_[A-Za-z0-9]{16})\b",
    ),
    Rule {
        check: Check::BasicAuth,
        ..token(
            "http.basic_auth",
            "HTTP Basic authorization header with credentials",
            High,
            &["Authorization:", "authorization:", "AUTHORIZATION:"],
            r"(?i:authorization):[ \t]*(?i:basic)[ \t]+(?P<s>[A-Za-z0-9+/]{6,}={0,2})",
        )
    },
    Rule {
        check: Check::Random,
        ..token(
            "http.bearer_token",
            "HTTP Bearer authorization header with a token",
            High,
            &["Authorization:", "authorization:", "AUTHORIZATION:"],
            r"(?i:authorization):[ \t]*(?i:bearer)[ \t]+(?P<s>[A-Za-z0-9_\-.~+/]{20,400}={0,2})",
        )
    },
    // Private keys.
    pem(
        "pem.rsa_private_key",
        "RSA private key",
        &["-----BEGIN"],
        r"-----BEGIN RSA PRIVATE KEY-----(?P<s>(?:\\n|[A-Za-z0-9+/=:,\-\s])+?)-----END RSA PRIVATE KEY-----",
    ),
    pem(
        "pem.ec_private_key",
        "EC private key",
        &["-----BEGIN"],
        r"-----BEGIN EC PRIVATE KEY-----(?P<s>(?:\\n|[A-Za-z0-9+/=:,\-\s])+?)-----END EC PRIVATE KEY-----",
    ),
    pem(
        "pem.dsa_private_key",
        "DSA private key",
        &["-----BEGIN"],
        r"-----BEGIN DSA PRIVATE KEY-----(?P<s>(?:\\n|[A-Za-z0-9+/=:,\-\s])+?)-----END DSA PRIVATE KEY-----",
    ),
    pem(
        "pem.encrypted_private_key",
        "encrypted PKCS#8 private key",
        &["-----BEGIN"],
        r"-----BEGIN ENCRYPTED PRIVATE KEY-----(?P<s>(?:\\n|[A-Za-z0-9+/=\s])+?)-----END ENCRYPTED PRIVATE KEY-----",
    ),
    Rule {
        rank: 1,
        ..pem(
            "pem.pkcs8_private_key",
            "PKCS#8 private key",
            &["-----BEGIN"],
            r"-----BEGIN PRIVATE KEY-----(?P<s>(?:\\n|[A-Za-z0-9+/=\s])+?)-----END PRIVATE KEY-----",
        )
    },
    pem(
        "openssh.private_key",
        "OpenSSH private key",
        &["-----BEGIN"],
        r"-----BEGIN OPENSSH PRIVATE KEY-----(?P<s>(?:\\n|[A-Za-z0-9+/=\s])+?)-----END OPENSSH PRIVATE KEY-----",
    ),
    pem(
        "pgp.private_key",
        "PGP private key block",
        &["-----BEGIN"],
        r"-----BEGIN PGP PRIVATE KEY BLOCK-----(?P<s>(?:\\n|[A-Za-z0-9+/=:\-\s.])+?)-----END PGP PRIVATE KEY BLOCK-----",
    ),
    pem(
        "putty.private_key",
        "PuTTY private key",
        &["PuTTY-"],
        r"PuTTY-User-Key-File-[23]: [^\n]*\n(?:[^\n]*\n){0,12}?Private-Lines: \d+\r?\n(?P<s>(?:[A-Za-z0-9+/=]+\r?\n)+)",
    ),
    // Connection strings and URLs with passwords.
    Rule {
        rank: 1,
        ..token(
            "db.postgres_url",
            "PostgreSQL URL with a password",
            High,
            &["://"],
            r#"\bpostgres(?:ql)?://[^:/?#@\s"'<>]+:(?P<s>[^@/\s"'<>]{3,128})@[A-Za-z0-9.\-_]+"#,
        )
    },
    Rule {
        rank: 1,
        ..token(
            "db.mysql_url",
            "MySQL URL with a password",
            High,
            &["://"],
            r#"\b(?:mysql|mariadb)://[^:/?#@\s"'<>]+:(?P<s>[^@/\s"'<>]{3,128})@[A-Za-z0-9.\-_]+"#,
        )
    },
    Rule {
        rank: 1,
        ..token(
            "db.mongodb_url",
            "MongoDB URL with a password",
            High,
            &["://"],
            r#"\bmongodb(?:\+srv)?://[^:/?#@\s"'<>]+:(?P<s>[^@/\s"'<>]{3,128})@[A-Za-z0-9.\-_]+"#,
        )
    },
    Rule {
        rank: 1,
        ..token(
            "db.redis_url",
            "Redis URL with a password",
            High,
            &["://"],
            r#"\bredis(?:s)?://[^:/?#@\s"'<>]*:(?P<s>[^@/\s"'<>]{3,128})@[A-Za-z0-9.\-_]+"#,
        )
    },
    Rule {
        rank: 1,
        ..token(
            "db.amqp_url",
            "AMQP URL with a password",
            High,
            &["://"],
            r#"\bamqps?://[^:/?#@\s"'<>]+:(?P<s>[^@/\s"'<>]{3,128})@[A-Za-z0-9.\-_]+"#,
        )
    },
    Rule {
        rank: 1,
        ..token(
            "db.jdbc_password",
            "JDBC URL with a password",
            High,
            &["jdbc:"],
            r#"\bjdbc:[a-z0-9]+:[^\s"'<>]*?[;?&](?i:password|pwd)=(?P<s>[^;&\s"'<>]{3,128})"#,
        )
    },
    Rule {
        rank: 1,
        ..token(
            "db.odbc_password",
            "ODBC / ADO connection string with a password",
            High,
            &["~passw", "~pwd"],
            r#"(?i)(?:server|data source|driver|dsn|host|uid|user id)\s*=[^\n]{0,200}?;\s*(?:password|pwd)\s*=\s*(?P<s>[^;"'\s]{3,128})"#,
        )
    },
    Rule {
        rank: 1,
        ..token(
            "url.basic_auth",
            "URL with embedded credentials",
            High,
            &["://"],
            r#"\b(?:https?|ftps?|sftp|ssh|git|smtp|ldaps?)://[^:/?#@\s"'<>]+:(?P<s>[^@/\s"'<>]{3,128})@[A-Za-z0-9.\-_]+"#,
        )
    },
    // Generic: a value assigned to a secret-named key, in the assignment
    // syntax of the common languages and configuration formats (`=`, `:=`,
    // `?=`, `::=`, `.=`, `=>`, `:`, typed declarations, a call's next
    // argument, XML elements and `key`/`value` attributes); the value never
    // crosses a line except inside an XML element.
    Rule {
        rank: 2,
        confidence: 0.7,
        check: Check::Password,
        ..context(
            "generic.password_assignment",
            "password assigned in code or configuration",
            High,
            &[
                "~passw", "~pwd", "_pass", "_PASS", "pass=", "PASS=", "pass:",
            ],
            r#"(?i)(?:<(?:[\w\-]+:)?[\w.\-]*?(?:passw(?:or)?d|passwd|pwd|passphrase|(?:\b|_)pass(?:\b|_))[\w.\-]*(?:\s[^>]{0,200})?>\s*(?P<s5>[^<\s]{4,200})\s*</|(?:key|name)\s*=\s*["'][\w.\-]*?(?:passw(?:or)?d|passwd|pwd|passphrase|(?:\b|_)pass(?:\b|_))[\w.\-]*["']\s+value\s*=\s*["'](?P<s6>[^"'\r\n]{4,200})["']|[\w.\-]*?(?:passw(?:or)?d|passwd|pwd|passphrase|(?:\b|_)pass(?:\b|_))[\w.\-]*["'\]]*(?:[ \t]*:[ \t]*[A-Za-z][\w<>\[\]?]*|[ \t]+[A-Za-z][\w.\[\]*]*)?[ \t]*(?:::=|:=|\?=|\+=|\.=|=>|==|=|:|,|\()[ \t]*(?:[rbuf]|@)?(?:"(?P<s>[^"\r\n]{4,200})"|'(?P<s2>[^'\r\n]{4,200})'|`(?P<s3>[^`\r\n]{4,200})`|(?P<s4>[^\s"'`;,<>(){}\[\]&]{4,200})))"#,
        )
    },
    Rule {
        rank: 2,
        confidence: 0.7,
        ..context(
            "generic.secret_assignment",
            "high-entropy value assigned to a secret-named key",
            High,
            &[
                "~secret",
                "~token",
                "~credential",
                "_key",
                "_KEY",
                "-key",
                "-KEY",
                "Key",
                "apikey",
                "APIKEY",
            ],
            r#"(?i)(?:<(?:[\w\-]+:)?[\w.\-]*?(?:secret|token|api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?key|private[_\-]?key|signing[_\-]?key|encryption[_\-]?key|master[_\-]?key|client[_\-]?key|app[_\-]?key|(?:primary|secondary|shared)[_\-]?key|credentials?)[\w.\-]*(?:\s[^>]{0,200})?>\s*(?P<s5>[^<\s]{4,200})\s*</|(?:key|name)\s*=\s*["'][\w.\-]*?(?:secret|token|api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?key|private[_\-]?key|signing[_\-]?key|encryption[_\-]?key|master[_\-]?key|client[_\-]?key|app[_\-]?key|(?:primary|secondary|shared)[_\-]?key|credentials?)[\w.\-]*["']\s+value\s*=\s*["'](?P<s6>[^"'\r\n]{4,200})["']|[\w.\-]*?(?:secret|token|api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?key|private[_\-]?key|signing[_\-]?key|encryption[_\-]?key|master[_\-]?key|client[_\-]?key|app[_\-]?key|(?:primary|secondary|shared)[_\-]?key|credentials?)[\w.\-]*["'\]]*(?:[ \t]*:[ \t]*[A-Za-z][\w<>\[\]?]*|[ \t]+[A-Za-z][\w.\[\]*]*)?[ \t]*(?:::=|:=|\?=|\+=|\.=|=>|==|=|:|,|\()[ \t]*(?:[rbuf]|@)?(?:"(?P<s>[^"\r\n]{4,200})"|'(?P<s2>[^'\r\n]{4,200})'|`(?P<s3>[^`\r\n]{4,200})`|(?P<s4>[^\s"'`;,<>(){}\[\]&]{4,200})))"#,
        )
    },
    // Personal data.
    pii(
        "pii.card_number",
        "payment card number",
        High,
        r"\b(?P<s>[2-6]\d{3}(?:[ \-]?\d{4}){2}[ \-]?\d{1,4}(?:[ \-]?\d{1,3})?|3[47]\d{2}[ \-]?\d{6}[ \-]?\d{5})\b",
        Check::Card,
    ),
    pii(
        "pii.iban",
        "IBAN",
        High,
        r"\b(?P<s>[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{4}){2,7}(?:[ \-]?[A-Z0-9]{1,4})?)\b",
        Check::Iban,
    ),
    pii(
        "pii.us_ssn",
        "US social security number",
        High,
        r"(?i:\b(?:ssn|ss#|ssn#|social[ \-]?security(?:[ \-]?(?:number|no\.?|num|#))?|soc\.? ?sec\.?)\W{0,20}(?P<s2>\d{9})\b)|\b(?P<s>\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{3}\.\d{2}\.\d{4})\b",
        Check::UsSsn,
    ),
    pii(
        "pii.uk_nino",
        "UK National Insurance number",
        High,
        r"\b(?P<s>[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D])\b",
        Check::UkNino,
    ),
    pii(
        "pii.fr_nir",
        "French social security number (NIR)",
        High,
        r"\b(?P<s>[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2})\b",
        Check::FrNir,
    ),
    pii(
        "pii.de_steuer_id",
        "German tax identification number",
        High,
        r"(?i)(?:steuer[\w\-]*|idnr|identifikationsnummer|tax[ \-]?id|tin)\W{0,20}(?P<s>[1-9]\d(?: ?\d{3}){3}|[1-9]\d{10})\b",
        Check::DeSteuerId,
    ),
    pii(
        "pii.es_dni",
        "Spanish DNI or NIE",
        High,
        r"\b(?P<s>\d{8}-?[A-Z]|[XYZ]-?\d{7}-?[A-Z])\b",
        Check::EsDni,
    ),
    Rule {
        severity: Low,
        confidence: 0.6,
        rank: 3,
        ..pii(
            "pii.phone",
            "phone number",
            Low,
            r"(?:^|[^\w+.\-/])(?P<s>\+[1-9]\d{0,2}[ .\-]?(?:\(0?\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{2,4}){1,5}|00[1-9]\d{0,2}(?:[ .\-]?\d{2,4}){2,6}|(?:1[ .\-])?\([2-9]\d{2}\) ?[2-9]\d{2}[ .\-]?\d{4}|(?:1[ .\-])?[2-9]\d{2}[ .\-][2-9]\d{2}[ .\-]\d{4}|\(0\d{1,4}\)[ .\-/]?\d{2,8}(?:[ .\-]?\d{2,8}){0,4}|0\d{1,4}(?:[ .\-/]\d{2,8}){1,5}|0[1-9]\d{8,10}|[6-9]\d{4}[ \-]\d{5})(?:$|[^\w.\-/]|[.\-/](?:[^\w]|$))",
            Check::Phone,
        )
    },
    Rule {
        trigger: Trigger::At,
        confidence: 0.95,
        rank: 3,
        reach: (96, 160),
        ..pii(
            "pii.email",
            "e-mail address",
            Low,
            r"\b(?P<s>[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24})\b",
            Check::Email,
        )
    },
    // Classification markings.
    marking(
        "marking.confidential",
        "confidentiality marking",
        Medium,
        &["CONFIDENTIAL", "Confidential"],
        r"\b(?:(?:STRICTLY |COMPANY |HIGHLY |BUSINESS )?CONFIDENTIAL|(?:Strictly|Company|Highly|Business) Confidential|Confidential (?:and|&) Proprietary|Proprietary (?:and|&) Confidential)\b",
    ),
    marking(
        "marking.proprietary",
        "proprietary marking",
        Medium,
        &["PROPRIETARY", "Proprietary"],
        r"\b(?:PROPRIETARY(?: INFORMATION| DATA)?|Proprietary (?:Information|Data)|Proprietary and Confidential)\b",
    ),
    marking(
        "marking.internal",
        "internal-use marking",
        Low,
        &["INTERNAL USE", "Internal Use"],
        r"\b(?:(?:FOR )?INTERNAL USE ONLY|Internal Use Only)\b",
    ),
    marking(
        "marking.trade_secret",
        "trade-secret marking",
        High,
        &["TRADE SECRET", "Trade Secret"],
        r"\b(?:TRADE SECRETS?|Trade Secrets?)\b",
    ),
    marking(
        "marking.itar",
        "ITAR marking",
        High,
        &["ITAR", "International Traffic"],
        r"\b(?:ITAR(?:[- ]controlled)?|International Traffic in Arms Regulations)\b",
    ),
    marking(
        "marking.export_control",
        "export-control classification (EAR / ECCN)",
        High,
        &["EAR", "ECCN", "Export", "EXPORT"],
        r"\b(?:EAR99|ECCN[:#\s]*[0-9][A-E][0-9]{3}[a-z0-9.]*|EXPORT CONTROLLED|Export Controlled|Export Administration Regulations|(?:EAR|ECCN)\b[^\n]{0,60}?\b[0-9][A-E][0-9]{3}[a-z0-9.]*)\b",
    ),
];
