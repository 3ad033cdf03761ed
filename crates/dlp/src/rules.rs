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
}

impl Check {
    /// What the check verifies, in a few words (`none` when the pattern decides).
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Check::None => "not a placeholder",
            Check::Random => "entropy for its charset, not a reference or placeholder",
            Check::Jwt => "header decodes to JSON naming an algorithm",
            Check::Card => "Luhn and issuer length",
            Check::Iban => "country length and mod-97",
            Check::UsSsn => "area, group and serial ranges",
            Check::UkNino => "prefix letters and suffix",
            Check::FrNir => "month and mod-97 key",
            Check::DeSteuerId => "digit repetition and ISO 7064 check digit",
            Check::EsDni => "mod-23 letter",
            Check::Email => "not a documentation domain or image name",
            Check::Phone => "8 to 15 digits, not all the same",
            Check::Marking => "none",
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
        check: Check::None,
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
        &["AKIA", "ASIA", "ABIA", "ACCA"],
        r"\b(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
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
        &["~azure"],
        r#"(?i)azure[\w.\-]{0,30}key["']?\s*(?::|=|=>)\s*["']?(?P<s>[A-Za-z0-9+/]{86}==)"#,
    ),
    token(
        "azure.sas_token",
        "Azure shared access signature",
        High,
        &["sv=20"],
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
        r"\b(?P<s>glpat-[A-Za-z0-9_\-.]{20,64})(?:[^A-Za-z0-9_\-.]|$)",
    ),
    token(
        "gitlab.runner_token",
        "GitLab runner token",
        High,
        &["glrt-", "GR1348941"],
        r"\b(?P<s>(?:glrt-|GR1348941)[A-Za-z0-9_\-]{20,})",
    ),
    token(
        "gitlab.deploy_token",
        "GitLab deploy token",
        High,
        &["gldt-"],
        r"\b(?P<s>gldt-[A-Za-z0-9_\-]{20,})",
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
        &["pypi-AgEIcHlwaS5vcmc"],
        r"\b(?P<s>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})",
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
        &["xox"],
        r"\b(?P<s>xox[abeoprs]-(?:[0-9]{8,13}-){1,3}[A-Za-z0-9]{24,64})\b",
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
        &["hooks.slack.com"],
        r"https://hooks\.slack\.com/(?:services|workflows)/(?P<s>T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24})",
    ),
    token(
        "stripe.live_key",
        "Stripe live secret or restricted key",
        Critical,
        &["k_live_"],
        r"\b(?P<s>[sr]k_live_[0-9a-zA-Z]{24,99})\b",
    ),
    token(
        "stripe.test_key",
        "Stripe test secret or restricted key",
        Medium,
        &["k_test_"],
        r"\b(?P<s>[sr]k_test_[0-9a-zA-Z]{24,99})\b",
    ),
    token(
        "twilio.api_key",
        "Twilio API key",
        High,
        &["~twilio"],
        r"\b(?P<s>SK[0-9a-f]{32})\b",
    ),
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
        r"\b(?P<s>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)",
    ),
    token(
        "mailgun.api_key",
        "Mailgun API key",
        High,
        &["key-"],
        r"\b(?P<s>key-[0-9a-f]{32})\b",
    ),
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
            &["~heroku"],
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
        &["shp"],
        r"\b(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
    ),
    token(
        "square.token",
        "Square access token or secret",
        High,
        &["sq0", "EAAA"],
        r"\b(?P<s>sq0atp-[0-9A-Za-z_\-]{22}|sq0csp-[0-9A-Za-z_\-]{43}|EAAA[A-Za-z0-9_\-]{60})(?:[^0-9A-Za-z_\-]|$)",
    ),
    context(
        "discord.bot_token",
        "Discord bot token",
        High,
        &["~discord"],
        r"\b(?P<s>[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})\b",
    ),
    token(
        "discord.webhook",
        "Discord webhook",
        High,
        &["discord"],
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/(?P<s>[A-Za-z0-9_\-]{60,68})",
    ),
    token(
        "telegram.bot_token",
        "Telegram bot token",
        High,
        &[":AA"],
        r"\b(?P<s>[0-9]{8,10}:AA[0-9A-Za-z_\-]{33})(?:[^0-9A-Za-z_\-]|$)",
    ),
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
        r"\b(?P<s>sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,100})(?:[^A-Za-z0-9_\-]|$)",
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
        r"\b(?P<s>hv[sbr]\.[A-Za-z0-9_\-]{24,120})(?:[^A-Za-z0-9_\-]|$)",
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
        &["~datadog", "DD_AP", "dd_ap"],
        r#"(?i)(?:datadog|dd)[_\-]?(?:api|app|application)?[_\-]?key["']?\s*(?::|=|=>)\s*["']?(?P<s>[0-9a-f]{40}|[0-9a-f]{32})\b"#,
    ),
    token(
        "newrelic.key",
        "New Relic API key",
        High,
        &["NRAK-", "NRJS-", "NRII-"],
        r"\b(?P<s>NRAK-[A-Z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9_\-]{32})\b",
    ),
    token(
        "sentry.dsn",
        "Sentry DSN with its key",
        Medium,
        &["sentry.io"],
        r"https://(?P<s>[0-9a-f]{32})@[a-z0-9.\-]+\.sentry\.io/\d+",
    ),
    token(
        "sentry.auth_token",
        "Sentry auth token",
        High,
        &["sntry"],
        r"\b(?P<s>sntry[su]_[A-Za-z0-9+/=_]{40,})",
    ),
    Rule {
        check: Check::Jwt,
        ..token(
            "jwt",
            "JSON Web Token",
            High,
            &["eyJ"],
            r"\b(?P<s>eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]{16,})",
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
        &["PuTTY-User"],
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
    // Generic: a high-entropy value assigned to a secret-sounding name.
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
                "~passw",
                "~pwd",
                "~credential",
                "_key",
                "_KEY",
                "-key",
                "-KEY",
                "Key",
                "apikey",
                "APIKEY",
            ],
            r#"(?i)[\w.\-]*?(?:secret|token|passw(?:or)?d|pwd|api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?key|private[_\-]?key|credentials?)[\w.\-]*["']?\s*(?::=|=>|=|:)\s*["'`]?(?P<s>[^\s"'`;,<>(){}\[\]]{8,200})"#,
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
        r"\b(?P<s>[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b",
        Check::Iban,
    ),
    pii(
        "pii.us_ssn",
        "US social security number",
        High,
        r"\b(?P<s>\d{3}-\d{2}-\d{4})\b",
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
            r"(?:^|[^\w+.\-/])(?P<s>\+[1-9]\d{0,2}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{2,4}){1,4}|\(\d{3}\) ?[2-9]\d{2}[ .\-]\d{4}|[2-9]\d{2}[.\-][2-9]\d{2}[.\-]\d{4}|0[1-9](?:[ .]\d{2}){4}|0\d{2,4} \d{3,4} \d{4})(?:$|[^\w.\-/])",
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
