//! The labelled corpus: planted secrets of every supported format, valid and
//! invalid personal identifiers, classification markings, decoys that look
//! like secrets but are not, and every supported container — each case with
//! the set of detectors that must fire on it. Values are generated here,
//! fake but format-valid, so no credential-shaped string is committed.
//! The IBAN cases are the exception: the SWIFT IBAN registry's published
//! example of every country (`tests/corpus/iban-registry-examples.txt`),
//! independent of dlp's own length table.
//!
//! Documentation examples published by vendors (`AKIAIOSFODNN7EXAMPLE`, the
//! jwt.io sample, Stripe's documented test key) and placeholders
//! (`your_api_key`, `xxxx…`, `changeme`) are decoys: they are public and
//! never valid, so they are not reported.

use std::collections::BTreeSet;

use dlp::{ScanConfig, Scanner};

use crate::util::{self, ALNUM, B64, HEX, LOWER, Rng, UPPER, URLSAFE};

/// One labelled input.
pub struct Case {
    pub name: String,
    pub bytes: Vec<u8>,
    pub expected: Vec<&'static str>,
}

fn case(
    cases: &mut Vec<Case>,
    name: impl Into<String>,
    text: impl Into<String>,
    expected: &[&'static str],
) {
    cases.push(Case {
        name: name.into(),
        bytes: text.into().into_bytes(),
        expected: expected.to_vec(),
    });
}

fn password(rng: &mut Rng) -> String {
    format!(
        "{}{}!{}",
        rng.from(UPPER, 3),
        rng.from(ALNUM, 10),
        rng.digits(2)
    )
}

fn pem_body(rng: &mut Rng, lines: usize) -> String {
    (0..lines)
        .map(|_| rng.from(B64, 64))
        .collect::<Vec<_>>()
        .join("\n")
}

fn jwt(rng: &mut Rng) -> String {
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = e.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = e.encode(format!(r#"{{"sub":"{}","iat":1700000000}}"#, rng.digits(8)));
    format!("{header}.{payload}.{}", rng.from(URLSAFE, 43))
}

/// Every planted secret format: (expected detector, line of text).
fn secrets(rng: &mut Rng) -> Vec<(&'static str, String)> {
    let b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let uuid = |r: &mut Rng| {
        format!(
            "{}-{}-{}-{}-{}",
            r.from(HEX, 8),
            r.from(HEX, 4),
            r.from(HEX, 4),
            r.from(HEX, 4),
            r.from(HEX, 12)
        )
    };
    let mut v = vec![
        (
            "aws.access_key_id",
            format!("aws_access_key_id = AKIA{}", rng.from(b32, 16)),
        ),
        (
            "aws.access_key_id",
            format!("role session ASIA{} expires soon", rng.from(b32, 16)),
        ),
        (
            "aws.secret_access_key",
            format!("aws_secret_access_key = {}", rng.from(ALNUM, 40)),
        ),
        (
            "gcp.api_key",
            format!("const mapsKey = \"AIza{}\";", rng.from(URLSAFE, 35)),
        ),
        (
            "gcp.oauth_client_secret",
            format!("\"client_secret\": \"GOCSPX-{}\"", rng.from(URLSAFE, 28)),
        ),
        (
            "azure.storage_connection_string",
            format!(
                "DefaultEndpointsProtocol=https;AccountName=acmedata;AccountKey={}==;EndpointSuffix=core.windows.net",
                rng.from(B64, 86)
            ),
        ),
        (
            "azure.storage_account_key",
            format!("AZURE_STORAGE_KEY={}==", rng.from(B64, 86)),
        ),
        (
            "azure.sas_token",
            format!(
                "https://acme.blob.core.windows.net/drawings?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-01-01T00:00:00Z&spr=https&sig={}%3D",
                rng.from(ALNUM, 43)
            ),
        ),
        (
            "github.classic_pat",
            format!("GH_TOKEN=ghp_{}", rng.from(ALNUM, 36)),
        ),
        (
            "github.oauth_token",
            format!("oauth: gho_{}", rng.from(ALNUM, 36)),
        ),
        (
            "github.app_token",
            format!("installation token ghs_{}", rng.from(ALNUM, 36)),
        ),
        (
            "github.refresh_token",
            format!("refresh ghr_{}", rng.from(ALNUM, 36)),
        ),
        (
            "github.fine_grained_pat",
            format!("github_pat_{}_{}", rng.from(ALNUM, 22), rng.from(ALNUM, 59)),
        ),
        (
            "gitlab.pat",
            format!("private-token: glpat-{}", rng.from(ALNUM, 20)),
        ),
        (
            "gitlab.runner_token",
            format!("runner token glrt-{}", rng.from(ALNUM, 20)),
        ),
        (
            "gitlab.deploy_token",
            format!("deploy gldt-{}", rng.from(ALNUM, 20)),
        ),
        (
            "npm.token",
            format!(
                "//registry.npmjs.org/:_authToken=npm_{}",
                rng.from(ALNUM, 36)
            ),
        ),
        (
            "pypi.token",
            format!("password = pypi-AgEIcHlwaS5vcmc{}", rng.from(URLSAFE, 70)),
        ),
        (
            "dockerhub.pat",
            format!("docker login -u ci -p dckr_pat_{}", rng.from(URLSAFE, 27)),
        ),
        (
            "slack.token",
            format!(
                "SLACK_BOT=xoxb-{}-{}-{}",
                rng.digits(11),
                rng.digits(12),
                rng.from(ALNUM, 24)
            ),
        ),
        (
            "slack.app_token",
            format!(
                "xapp-1-A{}-{}-{}",
                rng.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                rng.digits(13),
                rng.from(HEX, 64)
            ),
        ),
        (
            "slack.webhook",
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                rng.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8),
                rng.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                rng.from(ALNUM, 24)
            ),
        ),
        (
            "stripe.live_key",
            format!("Stripe.apiKey = \"sk_live_{}\";", rng.from(ALNUM, 24)),
        ),
        (
            "stripe.live_key",
            format!("restricted rk_live_{}", rng.from(ALNUM, 32)),
        ),
        (
            "stripe.test_key",
            format!("STRIPE_KEY=sk_test_{}", rng.from(ALNUM, 24)),
        ),
        (
            "twilio.api_key",
            format!("TWILIO_API_KEY=SK{}", rng.from(HEX, 32)),
        ),
        (
            "twilio.auth_token",
            format!("TWILIO_AUTH_TOKEN={}", rng.from(HEX, 32)),
        ),
        (
            "sendgrid.api_key",
            format!(
                "SENDGRID=SG.{}.{}",
                rng.from(URLSAFE, 22),
                rng.from(URLSAFE, 43)
            ),
        ),
        (
            "mailgun.api_key",
            format!("mailgun key-{}", rng.from(HEX, 32)),
        ),
        (
            "mailchimp.api_key",
            format!("mc = {}-us14", rng.from(HEX, 32)),
        ),
        ("heroku.api_key", format!("HEROKU_API_KEY={}", uuid(rng))),
        (
            "heroku.platform_key",
            format!("HRKU-{}", rng.from(URLSAFE, 60)),
        ),
        (
            "shopify.token",
            format!("X-Shopify-Access-Token: shpat_{}", rng.from(HEX, 32)),
        ),
        (
            "square.token",
            format!("SQUARE=sq0atp-{}", rng.from(URLSAFE, 22)),
        ),
        (
            "square.token",
            format!("square access EAAA{}", rng.from(ALNUM, 60)),
        ),
        (
            "discord.bot_token",
            format!(
                "DISCORD_BOT_TOKEN=M{}.{}.{}",
                rng.from(ALNUM, 23),
                rng.from(ALNUM, 6),
                rng.from(URLSAFE, 27)
            ),
        ),
        (
            "discord.webhook",
            format!(
                "https://discord.com/api/webhooks/{}/{}",
                rng.digits(18),
                rng.from(URLSAFE, 68)
            ),
        ),
        (
            "telegram.bot_token",
            format!("bot = {}:AA{}", rng.digits(9), rng.from(URLSAFE, 33)),
        ),
        (
            "openai.api_key",
            format!("OPENAI_API_KEY=sk-proj-{}", rng.from(URLSAFE, 100)),
        ),
        (
            "openai.api_key",
            format!(
                "openai.api_key = 'sk-{}T3BlbkFJ{}'",
                rng.from(ALNUM, 20),
                rng.from(ALNUM, 20)
            ),
        ),
        (
            "anthropic.api_key",
            format!("ANTHROPIC_API_KEY=sk-ant-api03-{}", rng.from(URLSAFE, 93)),
        ),
        (
            "huggingface.token",
            format!("hf auth hf_{}", rng.from(&format!("{UPPER}{LOWER}"), 34)),
        ),
        (
            "vault.token",
            format!("VAULT_TOKEN=hvs.{}", rng.from(URLSAFE, 90)),
        ),
        (
            "terraform.api_token",
            format!(
                "token = \"{}.atlasv1.{}\"",
                rng.from(ALNUM, 14),
                rng.from(ALNUM, 64)
            ),
        ),
        (
            "datadog.api_key",
            format!("DD_API_KEY={}", rng.from(HEX, 32)),
        ),
        (
            "newrelic.key",
            format!(
                "NEW_RELIC=NRAK-{}",
                rng.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 27)
            ),
        ),
        (
            "sentry.dsn",
            format!(
                "SENTRY_DSN=https://{}@o{}.ingest.sentry.io/{}",
                rng.from(HEX, 32),
                rng.digits(6),
                rng.digits(7)
            ),
        ),
        (
            "sentry.auth_token",
            format!("SENTRY_AUTH=sntrys_{}", rng.from(ALNUM, 64)),
        ),
        ("jwt", format!("Authorization: Bearer {}", jwt(rng))),
        (
            "pem.rsa_private_key",
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                pem_body(rng, 12)
            ),
        ),
        (
            "pem.ec_private_key",
            format!(
                "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----",
                pem_body(rng, 3)
            ),
        ),
        (
            "pem.dsa_private_key",
            format!(
                "-----BEGIN DSA PRIVATE KEY-----\n{}\n-----END DSA PRIVATE KEY-----",
                pem_body(rng, 6)
            ),
        ),
        (
            "pem.rsa_private_key",
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{}\n\n{}\n-----END RSA PRIVATE KEY-----",
                rng.from("0123456789ABCDEF", 32),
                pem_body(rng, 12)
            ),
        ),
        (
            "pem.encrypted_private_key",
            format!(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{}\n-----END ENCRYPTED PRIVATE KEY-----",
                pem_body(rng, 10)
            ),
        ),
        (
            "pem.pkcs8_private_key",
            format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
                pem_body(rng, 10)
            ),
        ),
        (
            "openssh.private_key",
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----",
                pem_body(rng, 7)
            ),
        ),
        (
            "pgp.private_key",
            format!(
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{}\n={}\n-----END PGP PRIVATE KEY BLOCK-----",
                pem_body(rng, 8),
                rng.from(B64, 4)
            ),
        ),
        (
            "putty.private_key",
            format!(
                "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n{}\n{}\nPrivate-Lines: 1\n{}\nPrivate-MAC: {}\n",
                rng.from(B64, 64),
                rng.from(B64, 20),
                rng.from(B64, 44),
                rng.from(HEX, 64)
            ),
        ),
        (
            "db.postgres_url",
            format!(
                "DATABASE_URL=postgres://app:{}@db.internal:5432/prod",
                password(rng)
            ),
        ),
        (
            "db.mysql_url",
            format!("url: mysql://report:{}@10.0.3.4/erp", password(rng)),
        ),
        (
            "db.mongodb_url",
            format!(
                "MONGO=mongodb+srv://svc:{}@cluster0.abcde.mongodb.net/app",
                password(rng)
            ),
        ),
        (
            "db.redis_url",
            format!("REDIS_URL=redis://:{}@cache.internal:6379/0", password(rng)),
        ),
        (
            "db.amqp_url",
            format!(
                "broker = amqp://worker:{}@mq.internal:5672/vhost",
                password(rng)
            ),
        ),
        (
            "db.jdbc_password",
            format!(
                "jdbc:sqlserver://db.internal:1433;databaseName=erp;user=sa;password={};",
                password(rng)
            ),
        ),
        (
            "db.odbc_password",
            format!(
                "Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:db,1433;Uid=app;Pwd={};",
                password(rng)
            ),
        ),
        (
            "url.basic_auth",
            format!(
                "git remote add origin https://deploy:{}@git.acme-internal.net/cad.git",
                password(rng)
            ),
        ),
        (
            "generic.secret_assignment",
            format!("client_secret: \"{}\"", rng.from(ALNUM, 32)),
        ),
        (
            "generic.secret_assignment",
            format!("export SERVICE_TOKEN={}", rng.from(URLSAFE, 40)),
        ),
        (
            "generic.password_assignment",
            format!("db_password = '{}'", password(rng)),
        ),
        (
            "generic.secret_assignment",
            format!("  \"apiKey\": \"{}\",", rng.from(HEX, 40)),
        ),
    ];
    let sa = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"acme-cad\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",\n  \"client_id\": \"{}\"\n}}",
        (0..8)
            .map(|_| rng.from(B64, 64))
            .collect::<Vec<_>>()
            .join("\\n"),
        rng.digits(21)
    );
    v.push(("gcp.service_account_key", sa));
    v.extend(more_secrets(rng));
    v
}
/// A JWT with a payload of about `payload_len` characters, as Kubernetes
/// service-account tokens are.
fn long_jwt(rng: &mut Rng, payload_len: usize) -> String {
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = e.encode(format!(
        r#"{{"alg":"RS256","kid":"{}"}}"#,
        rng.from(URLSAFE, 43)
    ));
    let payload = e.encode(format!(
        r#"{{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"prod","sub":"system:serviceaccount:prod:{}","pad":"{}"}}"#,
        rng.from(LOWER, 8),
        rng.from(ALNUM, payload_len)
    ));
    format!("{header}.{payload}.{}", rng.from(URLSAFE, 342))
}

/// A password a person would choose: a word, digits and a sign.
fn human_password(rng: &mut Rng) -> String {
    let word = rng.pick(&[
        "Tr0ub4dor",
        "Summer",
        "Falcon",
        "Orchid",
        "Bl4ckbird",
        "Kestrel",
    ]);
    format!(
        "{word}{}{}",
        rng.digits(4),
        rng.pick(&["!", "#", "$", "%", "&"])
    )
}

/// Sub-formats of the providers detected before, and the providers added
/// from their documented token formats: (expected detector, line).
fn more_secrets(rng: &mut Rng) -> Vec<(&'static str, String)> {
    let lower_digits = "abcdefghijklmnopqrstuvwxyz0123456789";
    let upper_digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let bech32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
    let uuid = |r: &mut Rng| {
        format!(
            "{}-{}-{}-{}-{}",
            r.from(HEX, 8),
            r.from(HEX, 4),
            r.from(HEX, 4),
            r.from(HEX, 4),
            r.from(HEX, 12)
        )
    };
    let mut v: Vec<(&'static str, String)> = Vec::new();
    // Slack: legacy, configuration, refresh tokens; workflow webhooks.
    v.push((
        "slack.token",
        format!(
            "legacy = \"xoxp-{}-{}-{}-{}\"",
            rng.digits(10),
            rng.digits(11),
            rng.digits(12),
            rng.from(HEX, 32)
        ),
    ));
    v.push((
        "slack.token",
        format!("config_token: xoxe.xoxp-1-{}", rng.from(ALNUM, 146)),
    ));
    v.push((
        "slack.token",
        format!("refresh = 'xoxe-1-{}'", rng.from(ALNUM, 140)),
    ));
    v.push((
        "slack.token",
        format!("bot: xoxb-{}-{}", rng.digits(12), rng.from(ALNUM, 24)),
    ));
    v.push((
        "slack.webhook",
        format!(
            "url: https://hooks.slack.com/workflows/T{}/A{}/{}/{}",
            rng.from(upper_digits, 9),
            rng.from(upper_digits, 10),
            rng.digits(18),
            rng.from(ALNUM, 24)
        ),
    ));
    v.push((
        "slack.webhook",
        format!(
            "POST https://hooks.slack.com/triggers/T{}/{}/{}",
            rng.from(upper_digits, 9),
            rng.digits(13),
            rng.from(HEX, 32)
        ),
    ));
    // GitLab: every documented prefix.
    for prefix in [
        "gloas-", "glcbt-", "glptt-", "glft-", "glimt-", "glagent-", "glsoat-", "glffct-",
    ] {
        v.push((
            "gitlab.token",
            format!("CI_VAR=\"{prefix}{}\"", rng.from(URLSAFE, 24)),
        ));
    }
    v.push((
        "gitlab.runner_token",
        format!("registration-token: GR1348941{}", rng.from(ALNUM, 20)),
    ));
    v.push((
        "gitlab.pat",
        format!(
            "curl --header \"PRIVATE-TOKEN: glpat-{}.01.{}\"",
            rng.from(URLSAFE, 27),
            rng.from(lower_digits, 9)
        ),
    ));
    // New Relic, Vault, Stripe, Azure, Mailgun, Discord, SendGrid, Telegram, Twilio.
    v.push((
        "newrelic.key",
        format!("browser: NRBR-{}", rng.from(HEX, 19)),
    ));
    v.push((
        "newrelic.key",
        format!("insert_key = NRII-{}", rng.from(URLSAFE, 32)),
    ));
    v.push(("newrelic.key", format!("admin NRAA-{}", rng.from(HEX, 27))));
    v.push((
        "newrelic.key",
        format!("license_key: {}NRAL", rng.from(HEX, 36)),
    ));
    v.push((
        "vault.token",
        format!("export VAULT_TOKEN=hvb.{}", rng.from(URLSAFE, 138)),
    ));
    v.push((
        "vault.token",
        format!("recovery hvr.{}", rng.from(URLSAFE, 90)),
    ));
    v.push((
        "vault.legacy_token",
        format!("VAULT_TOKEN=s.{}", rng.from(ALNUM, 24)),
    ));
    v.push((
        "stripe.test_key",
        format!("Stripe::api_key = 'rk_test_{}'", rng.from(ALNUM, 99)),
    ));
    v.push((
        "stripe.webhook_secret",
        format!("endpoint_secret = 'whsec_{}'", rng.from(ALNUM, 32)),
    ));
    v.push((
        "azure.storage_account_key",
        format!("storage_key: \"{}==\"", rng.from(B64, 86)),
    ));
    v.push((
        "mailgun.key",
        format!("MAILGUN_SIGNING_KEY={}", rng.from(HEX, 32)),
    ));
    v.push((
        "mailgun.key",
        format!(
            "mailgun_api_key: {}-{}-{}",
            rng.from(HEX, 32),
            rng.from(HEX, 8),
            rng.from(HEX, 8)
        ),
    ));
    v.push((
        "discord.client_secret",
        format!("DISCORD_CLIENT_SECRET={}", rng.from(ALNUM, 32)),
    ));
    v.push((
        "sendgrid.api_key",
        format!(
            "mail.key = \"SG.{}.{}\"",
            rng.from(URLSAFE, 22),
            rng.from(URLSAFE, 43)
        ),
    ));
    v.push((
        "telegram.bot_url",
        format!(
            "https://api.telegram.org/bot{}:AA{}/sendMessage",
            rng.digits(10),
            rng.from(URLSAFE, 33)
        ),
    ));
    v.push((
        "twilio.api_key",
        format!("account_sid = \"AC{}\"", rng.from(HEX, 32)),
    ));
    v.push(("jwt", format!("token: {}", long_jwt(rng, 900))));
    {
        use base64::Engine;
        let wrapped = base64::engine::general_purpose::STANDARD.encode(jwt(rng));
        v.push(("jwt.base64", format!("  token: {wrapped}")));
    }
    v.push((
        "aws.appsync_key",
        format!(
            "\"aws_appsync_apiKey\": \"da2-{}\"",
            rng.from(lower_digits, 26)
        ),
    ));
    v.push((
        "nuget.api_key",
        format!(
            "dotnet nuget push pkg.nupkg -k oy2{}",
            rng.from(lower_digits, 43)
        ),
    ));
    // Providers added.
    v.push((
        "age.secret_key",
        format!("AGE-SECRET-KEY-1{}", rng.from(bech32, 58)),
    ));
    v.push((
        "digitalocean.token",
        format!("DIGITALOCEAN_TOKEN=dop_v1_{}", rng.from(HEX, 64)),
    ));
    v.push((
        "digitalocean.token",
        format!("refresh: dor_v1_{}", rng.from(HEX, 64)),
    ));
    v.push((
        "notion.token",
        format!("NOTION_KEY=ntn_{}{}", rng.digits(11), rng.from(ALNUM, 35)),
    ));
    v.push((
        "notion.token",
        format!("notion = Client(auth=\"secret_{}\")", rng.from(ALNUM, 43)),
    ));
    v.push((
        "postman.api_key",
        format!(
            "X-Api-Key: PMAK-{}-{}",
            rng.from(HEX, 24),
            rng.from(HEX, 34)
        ),
    ));
    v.push((
        "rubygems.api_key",
        format!(":rubygems_api_key: rubygems_{}", rng.from(HEX, 48)),
    ));
    v.push((
        "brevo.api_key",
        format!(
            "api-key: xkeysib-{}-{}",
            rng.from(HEX, 64),
            rng.from(ALNUM, 16)
        ),
    ));
    v.push((
        "brevo.api_key",
        format!(
            "smtp_pass = xsmtpsib-{}-{}",
            rng.from(HEX, 64),
            rng.from(ALNUM, 16)
        ),
    ));
    v.push(("snyk.api_token", format!("SNYK_TOKEN={}", uuid(rng))));
    v.push((
        "sonar.token",
        format!("sonar.token=squ_{}", rng.from(HEX, 40)),
    ));
    v.push((
        "sonar.legacy_token",
        format!("sonar.login={}", rng.from(HEX, 40)),
    ));
    v.push((
        "sourcegraph.token",
        format!(
            "SRC_ACCESS_TOKEN=sgp_{}_{}",
            rng.from(HEX, 16),
            rng.from(HEX, 40)
        ),
    ));
    v.push((
        "teams.webhook",
        format!(
            "webhook: https://acme.webhook.office.com/webhookb2/{}@{}/IncomingWebhook/{}/{}",
            uuid(rng),
            uuid(rng),
            rng.from(HEX, 32),
            uuid(rng)
        ),
    ));
    v.push((
        "artifactory.token",
        format!("password: AKCp{}", rng.from(ALNUM, 69)),
    ));
    v.push((
        "artifactory.token",
        format!(
            "Authorization: Bearer cmVmdGtuOjAxOj{}",
            rng.from(ALNUM, 50)
        ),
    ));
    v.push((
        "ibm.iam_api_key",
        format!("IBM_CLOUD_API_KEY=\"{}\"", rng.from(URLSAFE, 44)),
    ));
    v.push((
        "doppler.token",
        format!("DOPPLER_TOKEN=dp.pt.{}", rng.from(ALNUM, 43)),
    ));
    v.push((
        "pulumi.token",
        format!("PULUMI_ACCESS_TOKEN=pul-{}", rng.from(HEX, 40)),
    ));
    v.push((
        "linear.api_key",
        format!("linear = LinearClient(\"lin_api_{}\")", rng.from(ALNUM, 40)),
    ));
    v.push((
        "grafana.token",
        format!(
            "GRAFANA_TOKEN=glsa_{}_{}",
            rng.from(ALNUM, 32),
            rng.from(HEX, 8)
        ),
    ));
    v.push((
        "grafana.token",
        format!("cloud: glc_{}", rng.from(B64, 120)),
    ));
    v.push((
        "huggingface.org_token",
        format!(
            "HF_ORG=api_org_{}",
            rng.from(&format!("{UPPER}{LOWER}"), 34)
        ),
    ));
    v.push((
        "databricks.token",
        format!("DATABRICKS_TOKEN=dapi{}", rng.from(HEX, 32)),
    ));
    v.push((
        "atlassian.api_token",
        format!("JIRA_API_TOKEN=ATATT3xFfGF0{}", rng.from(URLSAFE, 180)),
    ));
    v.push((
        "dropbox.token",
        format!("dbx = dropbox.Dropbox(\"sl.{}\")", rng.from(URLSAFE, 138)),
    ));
    v.push((
        "figma.token",
        format!("X-Figma-Token: figd_{}", rng.from(URLSAFE, 40)),
    ));
    v.push((
        "flyio.token",
        format!("FLY_API_TOKEN=\"FlyV1 fm2_{}\"", rng.from(B64, 300)),
    ));
    v.push((
        "planetscale.token",
        format!(
            "PLANETSCALE_SERVICE_TOKEN=pscale_tkn_{}",
            rng.from(URLSAFE, 43)
        ),
    ));
    v.push((
        "supabase.token",
        format!("SUPABASE_ACCESS_TOKEN=sbp_{}", rng.from(HEX, 40)),
    ));
    v.push((
        "vercel.token",
        format!("VERCEL_TOKEN=vcp_{}", rng.from(ALNUM, 56)),
    ));
    v.push((
        "twitch.oauth_token",
        format!("PASS oauth:{}", rng.from(lower_digits, 30)),
    ));
    v.push((
        "mapbox.secret_token",
        format!(
            "MAPBOX_SECRET=sk.eyJ1Ijoi{}.{}",
            rng.from(URLSAFE, 60),
            rng.from(URLSAFE, 22)
        ),
    ));
    v.push((
        "adafruit.io_key",
        format!("ADAFRUIT_IO_KEY=aio_{}", rng.from(ALNUM, 28)),
    ));
    v.push((
        "clojars.token",
        format!(":password \"CLOJARS_{}\"", rng.from(lower_digits, 60)),
    ));
    v.push((
        "contentful.pat",
        format!(
            "CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-{}",
            rng.from(URLSAFE, 43)
        ),
    ));
    v.push((
        "duffel.token",
        format!(
            "Authorization: Bearer duffel_live_{}",
            rng.from(URLSAFE, 43)
        ),
    ));
    v.push((
        "easypost.api_key",
        format!("EasyPost.api_key = \"EZAK{}\"", rng.from(ALNUM, 54)),
    ));
    v.push((
        "flutterwave.key",
        format!("FLW_SECRET_KEY=FLWSECK_TEST-{}-X", rng.from(HEX, 32)),
    ));
    v.push((
        "frameio.token",
        format!("FRAMEIO_TOKEN=fio-u-{}", rng.from(URLSAFE, 64)),
    ));
    v.push((
        "prefect.api_key",
        format!("PREFECT_API_KEY=pnu_{}", rng.from(ALNUM, 36)),
    ));
    v.push((
        "readme.api_key",
        format!("README_API_KEY=rdme_{}", rng.from(lower_digits, 70)),
    ));
    v.push((
        "shippo.token",
        format!("shippo.api_key = \"shippo_live_{}\"", rng.from(HEX, 40)),
    ));
    v.push((
        "typeform.token",
        format!("TYPEFORM_TOKEN=tfp_{}", rng.from(ALNUM, 59)),
    ));
    v.push((
        "netlify.token",
        format!("NETLIFY_AUTH_TOKEN=nfp_{}", rng.from(ALNUM, 36)),
    ));
    v.push((
        "render.api_key",
        format!("RENDER_API_KEY=rnd_{}", rng.from(ALNUM, 32)),
    ));
    v.push((
        "replicate.token",
        format!("REPLICATE_API_TOKEN=r8_{}", rng.from(ALNUM, 37)),
    ));
    v.push((
        "groq.api_key",
        format!("client = Groq(api_key=\"gsk_{}\")", rng.from(ALNUM, 52)),
    ));
    v.push((
        "xai.api_key",
        format!("XAI_API_KEY=xai-{}", rng.from(ALNUM, 80)),
    ));
    v.push((
        "perplexity.api_key",
        format!("PPLX=pplx-{}", rng.from(ALNUM, 48)),
    ));
    v.push((
        "tailscale.key",
        format!(
            "tailscale up --authkey=tskey-auth-{}-{}",
            rng.from(ALNUM, 12),
            rng.from(ALNUM, 33)
        ),
    ));
    v.push((
        "onepassword.token",
        format!("OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{}", rng.from(B64, 600)),
    ));
    v.push((
        "buildkite.token",
        format!("BUILDKITE_API_TOKEN=bkua_{}", rng.from(HEX, 40)),
    ));
    v.push((
        "circleci.token",
        format!(
            "CIRCLE_TOKEN=CCIPAT_{}_{}",
            rng.from(ALNUM, 22),
            rng.from(HEX, 40)
        ),
    ));
    v.push((
        "scalingo.token",
        format!("SCALINGO_API_TOKEN=tk-us-{}", rng.from(URLSAFE, 48)),
    ));
    v.push((
        "infracost.api_key",
        format!("INFRACOST_API_KEY=ico-{}", rng.from(ALNUM, 32)),
    ));
    v.push((
        "deno.token",
        format!("DENO_DEPLOY_TOKEN=ddp_{}", rng.from(ALNUM, 36)),
    ));
    v.push((
        "github.actions_token",
        format!("enterprise: ghe_{}", rng.from(ALNUM, 36)),
    ));
    v.push((
        "lob.api_key",
        format!("LOB_API_KEY=live_{}", rng.from(HEX, 35)),
    ));
    v.push((
        "gocardless.token",
        format!("GC_ACCESS_TOKEN=sandbox_{}", rng.from(URLSAFE, 40)),
    ));
    v.push((
        "octopus.api_key",
        format!("OCTOPUS_API_KEY=API-{}", rng.from(upper_digits, 26)),
    ));
    v.push((
        "cloudflare.origin_ca_key",
        format!(
            "CF_ORIGIN_CA_KEY=v1.0-{}-{}",
            rng.from(HEX, 24),
            rng.from(HEX, 146)
        ),
    ));
    v.push((
        "yandex.key",
        format!("YC_API_KEY=AQVN{}", rng.from(URLSAFE, 36)),
    ));
    v.push((
        "azure.ad_client_secret",
        format!(
            "AZURE_CLIENT_SECRET={}8Q~{}",
            rng.from(ALNUM, 3),
            rng.from(ALNUM, 34)
        ),
    ));
    v.push((
        "okta.api_token",
        format!("okta_api_token = \"00{}\"", rng.from(URLSAFE, 40)),
    ));
    v.push((
        "sidekiq.credentials",
        format!(
            "BUNDLE_ENTERPRISE__CONTRIBSYS__COM={}:{}",
            rng.from(HEX, 8),
            rng.from(HEX, 8)
        ),
    ));
    v.push((
        "alibaba.access_key_id",
        format!("access_key_id: LTAI{}", rng.from(ALNUM, 20)),
    ));
    v.push((
        "dynatrace.token",
        format!(
            "DT_API_TOKEN=dt0c01.{}.{}",
            rng.from(upper_digits, 24),
            rng.from(ALNUM, 64)
        ),
    ));
    v.push((
        "definednetworking.api_token",
        format!(
            "DN_API_KEY=dnkey-{}-{}",
            rng.from(upper_digits, 26),
            rng.from(upper_digits, 52)
        ),
    ));
    v.push((
        "openshift.token",
        format!("oc login --token=sha256~{}", rng.from(URLSAFE, 43)),
    ));
    v.push((
        "facebook.access_token",
        format!("FB_PAGE_TOKEN=EAAG{}", rng.from(ALNUM, 180)),
    ));
    v.push((
        "intra42.secret",
        format!("FT_SECRET=s-s4t2ud-{}", rng.from(HEX, 64)),
    ));
    v.push((
        "settlemint.token",
        format!("SETTLEMINT_TOKEN=sm_pat_{}", rng.from(lower_digits, 16)),
    ));
    v.push((
        "aws.access_key_id",
        format!("\"AccessKeyId\": \"AKIA{}\"", rng.from(upper_digits, 16)),
    ));
    v.push((
        "telegram.bot_token",
        format!(
            "TELEGRAM_BOT_TOKEN={}:A{}",
            rng.digits(10),
            rng.from(URLSAFE, 34)
        ),
    ));
    v.push((
        "stripe.live_key",
        format!("stripe_key: sk_prod_{}", rng.from(ALNUM, 16)),
    ));
    v.push((
        "twitch.oauth_token",
        format!("twitch_token = \"{}\"", rng.from(lower_digits, 30)),
    ));
    v.push((
        "slack.webhook",
        format!(
            "SLACK_URL=https://hooks.slack.com/services/{}",
            rng.from(ALNUM, 44)
        ),
    ));
    {
        use base64::Engine;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("deploy:{}", password(rng)));
        v.push((
            "http.basic_auth",
            format!("curl -H 'Authorization: Basic {basic}' https://api.acme.io"),
        ));
    }
    v.push((
        "http.bearer_token",
        format!("authorization: Bearer {}", rng.from(URLSAFE, 40)),
    ));
    // The generic detectors across assignment syntaxes.
    let pw = |r: &mut Rng| {
        if r.below(2) == 0 {
            password(r)
        } else {
            human_password(r)
        }
    };
    let lines = [
        format!("password = \"{}\"", pw(rng)),
        format!("var dbPassword string = \"{}\"", pw(rng)),
        format!("DB_PASSWORD ?= {}", pw(rng)),
        format!("ADMIN_PASSWORD ::= {}", pw(rng)),
        format!("$password .= '{}';", pw(rng)),
        format!("$db_pass = '{}';", pw(rng)),
        format!("System.setProperty(\"db.password\", \"{}\");", pw(rng)),
        format!("setenv(\"DB_PASSWORD\", \"{}\", 1);", pw(rng)),
        format!("<password>\n    {}\n</password>", pw(rng)),
        format!("<add key=\"DbPassword\" value=\"{}\" />", pw(rng)),
        format!("mysqldump --user=backup --password={} erp", pw(rng)),
        format!("conn.setPassword(\"{}\");", pw(rng)),
        format!(
            "password = \"m{{{{h}}o)p${}]nob(ale}}\"",
            rng.from(LOWER, 3)
        ),
        format!("  password: {}", pw(rng)),
        format!("db.password={}", pw(rng)),
        format!("  \"password\": \"{}\",", pw(rng)),
        format!("password := \"{}\"", pw(rng)),
        format!("val password: String = \"{}\"", pw(rng)),
        format!("string password = \"{}\";", pw(rng)),
        format!("'password' => '{}',", pw(rng)),
        format!("SMTP_PASS={}", pw(rng)),
    ];
    for line in lines {
        v.push(("generic.password_assignment", line));
    }
    let lines = [
        format!("var apiKey string = \"{}\"", rng.from(ALNUM, 32)),
        format!("client_secret := \"{}\"", rng.from(URLSAFE, 40)),
        format!("<secret>{}</secret>", rng.from(ALNUM, 32)),
        format!("setenv(\"API_TOKEN\", \"{}\", 1);", rng.from(HEX, 40)),
        format!("APP_SECRET ?= {}", rng.from(ALNUM, 40)),
        format!("<add key=\"ApiKey\" value=\"{}\" />", rng.from(ALNUM, 32)),
    ];
    for line in lines {
        v.push(("generic.secret_assignment", line));
    }
    v
}

/// Values that look like secrets and are not.
fn decoys(rng: &mut Rng) -> Vec<String> {
    let png = rng.from(B64, 3000);
    vec![
        "# AWS documentation\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
        "curl https://api.stripe.com/v1/charges -u sk_test_4eC39HqLyjWDarjtT1zdp7dc:".to_owned(),
        "jwt.io sample: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c".to_owned(),
        "password = \"changeme\"\napi_key: \"<your-api-key>\"\ntoken = ${GITHUB_TOKEN}\nsecret = os.environ[\"APP_SECRET\"]\npassword: ********".to_owned(),
        format!("GITHUB_TOKEN=ghp_{}", "x".repeat(36)),
        "let token = tokenizer.next_token();\nconst password_field = form.password;\nif (secret_len > max_secret_len) return;".to_owned(),
        format!("password_hash = \"$argon2id$v=19$m=19456,t=2,p=1${}${}\"", rng.from(B64, 22), rng.from(B64, 43)),
        format!("[[package]]\nname = \"serde\"\nversion = \"1.0.228\"\nchecksum = \"{}\"", rng.from(HEX, 64)),
        format!("\"integrity\": \"sha512-{}==\"", rng.from(B64, 86)),
        format!("resolved \"https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#{}\"", rng.from(HEX, 40)),
        format!("id: {}-{}-4{}-a{}-{}\nrequest_id = {}", rng.from(HEX, 8), rng.from(HEX, 4), rng.from(HEX, 3), rng.from(HEX, 3), rng.from(HEX, 12), rng.from(HEX, 32)),
        format!("commit {}\nAuthor: dev\n\nsha256sum: {}  release.tar.gz", rng.from(HEX, 40), rng.from(HEX, 64)),
        format!("<img src=\"data:image/png;base64,{png}\">"),
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/prod\nredis://localhost:6379\nhttps://user@host.example.net/path".to_owned(),
        "The confidential nature of the trade was a secret to nobody; see the proprietary lemma in section 4.".to_owned(),
        "Released on 2024-01-15 as version 1.2.3.4 from 192.168.100.200 under order PO-20240115-0042, ISBN 978-3-16-148410-0.".to_owned(),
        "Contact user@example.com or logo@2x.png for details.".to_owned(),
        "Invoice 12345678 total 4711.00 EUR, batch 99887766, part 0042-7781-3.".to_owned(),
        // Placeholders, elisions and templates in place of values.
        "password = \"<your-password>\"\npassword: ${DB_PASSWORD}\npassword = \"{{ vault_db_password }}\"\napi_key = \"xxxxxxxxxxxxxxxxxxxxxxxx\"".to_owned(),
        "OPENAI_API_KEY=sk-a\u{2026}yzBB\nSENTRY_AUTH_TOKEN=sntr\u{2026}aaaa\ntoken: ghp_\u{2026}".to_owned(),
        "-----BEGIN RSA PRIVATE KEY-----\nanything\n-----END RSA PRIVATE KEY-----".to_owned(),
        "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----".to_owned(),
        "password = \"example-password\"\npassword: \"********\"\nDB_PASSWORD=changeme\npassword=\"\"".to_owned(),
        // Code that names passwords without holding one.
        "password = get_password()\npassword = request.form['password']\nif password == confirm_password:\n    pass\npassword = None".to_owned(),
        "interface User { password: string; }\nvar password string\nconst pwd = os.getcwd()\nPWD=/home/ci/build\npasswordField.setText(\"\");".to_owned(),
        "<input type=\"password\" name=\"password\" autocomplete=\"current-password\">".to_owned(),
        "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\npassword = getpass.getpass()\nString password = request.getParameter(\"password\");\npassword := os.Getenv(\"DB_PASSWORD\")\n--password-file=/run/secrets/db_password".to_owned(),
        "TOKEN_URL = \"https://oauth2.googleapis.com/token\"\nsecret_name = \"prod/db/password\"\ncheck_password(user_input)\nif (password == null) return;".to_owned(),
        "GET /callback?token=expired&state=9f8e7d HTTP/1.1 401\naudit: user=alice action=login password=[FILTERED]".to_owned(),
        // A value on the next line belongs to another key.
        "password:\n  from_secret: db_password\ntoken:\n  valueFrom: secretKeyRef".to_owned(),
        // Log lines that mention credentials without one.
        "2024-05-01 12:00:01 INFO token refreshed for user 4711 (expires_in=3600)\n2024-05-01 12:00:02 WARN password check failed for user=alice attempts=3".to_owned(),
        // Hashes, ids and dates.
        format!("password_hash: \"$2b$12${}\"", rng.from(B64, 53)),
        format!("etag = \"{}\"\nsha256 = \"{}\"", rng.from(HEX, 32), rng.from(HEX, 64)),
        "Meeting on 01/02/2024 12:30, build 2024-01-15 10:30:00, ref 2024.01.15".to_owned(),
        // An IBAN with a wrong check digit: neither an IBAN nor a phone number.
        "IBAN: DE00 3704 0044 0532 0130 00".to_owned(),
        "Authorization: Bearer ${API_TOKEN}\nAuthorization: Basic <credentials>\nAuthorization: Bearer YOUR_TOKEN_HERE".to_owned(),
        // Published SDK test keys and documentation examples typed in order.
        "const TEST_API_KEY = 'AIzaSyabcdefghijklmnopqrstuvwxyz1234567';".to_owned(),
        "SLACK_BOT_TOKEN=xoxb-not-a-real-token-this-will-not-work".to_owned(),
        "api_key: \"AbC123dEf456GhI789jKl012MnO345pQr\"".to_owned(),
        // Numbers that are not social security numbers without their name.
        "order 536221234 shipped; SSN 666 12 3456 is invalid".to_owned(),
    ]
}

/// The SWIFT IBAN registry's example IBAN of every country, as the registry
/// prints it: (country code, IBAN print format example), read from
/// `tests/corpus/iban-registry-examples.txt`.
fn iban_registry_examples() -> Vec<(&'static str, &'static str)> {
    include_str!("../corpus/iban-registry-examples.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let fields: Vec<&str> = l.split(" | ").collect();
            let [country, _name, printed] = fields[..] else {
                panic!("not `code | country | example`: {l:?}");
            };
            (country, printed)
        })
        .collect()
}

/// An IBAN in its electronic form: the printed one without its spaces.
fn compact(printed: &str) -> String {
    printed.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A compact IBAN written in the `form`th of three ways in turn: compact,
/// in groups of four separated by spaces, by dashes.
fn written(iban: &str, form: usize) -> String {
    let groups: Vec<String> = iban
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect())
        .collect();
    match form % 3 {
        0 => iban.to_owned(),
        1 => groups.join(" "),
        _ => groups.join("-"),
    }
}

/// The IBAN with its check digits one more: they are the number's last two
/// digits in the mod-97 order, so the remainder becomes 2, never the valid 1.
fn with_wrong_check_digits(iban: &str) -> String {
    let check: u32 = iban[2..4].parse().unwrap();
    format!("{}{:02}{}", &iban[..2], (check + 1) % 100, &iban[4..])
}

/// Personal data: (expected detectors, text).
fn personal(rng: &mut Rng) -> Vec<(Vec<&'static str>, String)> {
    let mut v: Vec<(Vec<&'static str>, String)> = Vec::new();
    for prefix in ["4", "51", "2221", "6011", "3530"] {
        let body = format!("{prefix}{}", rng.digits(15 - prefix.len()));
        let card = util::with_luhn(&body);
        let spaced: String = card
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        v.push((vec!["pii.card_number"], format!("Card: {spaced} exp 12/27")));
        let last = card.chars().last().unwrap().to_digit(10).unwrap();
        let bad = format!("{}{}", &card[..15], (last + 1) % 10);
        v.push((vec![], format!("Card: {bad} exp 12/27")));
    }
    let amex = util::with_luhn(&format!("37{}", rng.digits(12)));
    v.push((
        vec!["pii.card_number"],
        format!("amex {}-{}-{}", &amex[..4], &amex[4..10], &amex[10..]),
    ));
    for (country, bban) in [
        ("DE", rng.digits(18)),
        ("GB", format!("WEST{}", rng.digits(14))),
        ("FR", rng.digits(23)),
        ("NL", format!("ABNA{}", rng.digits(10))),
        ("ES", rng.digits(20)),
    ] {
        let iban = util::iban(country, &bban);
        let grouped: String = iban
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        v.push((vec!["pii.iban"], format!("IBAN: {grouped}")));
        let mut bad: Vec<char> = iban.chars().collect();
        let i = bad.len() - 1;
        bad[i] = if bad[i] == '1' { '2' } else { '1' };
        v.push((
            vec![],
            format!("IBAN: {}", bad.into_iter().collect::<String>()),
        ));
    }
    for _ in 0..3 {
        let ssn = format!(
            "{}-{:02}-{:04}",
            100 + rng.below(565),
            1 + rng.below(98),
            1 + rng.below(9998)
        );
        v.push((vec!["pii.us_ssn"], format!("SSN {ssn}")));
    }
    for bad in ["666-12-3456", "000-45-6789", "912-34-5678", "123-00-4567"] {
        v.push((vec![], format!("SSN {bad}")));
    }
    v.push((
        vec!["pii.uk_nino"],
        format!(
            "NI number: AB {} {} {} C",
            rng.digits(2),
            rng.digits(2),
            rng.digits(2)
        ),
    ));
    v.push((vec!["pii.uk_nino"], format!("nino JT{}A", rng.digits(6))));
    v.push((
        vec![],
        format!("ref GB{}A and QQ{}D", rng.digits(6), rng.digits(6)),
    ));
    for _ in 0..3 {
        let body = format!(
            "{}{}{:02}{:02}{}{}",
            1 + rng.below(2),
            rng.digits(2),
            1 + rng.below(12),
            1 + rng.below(95),
            rng.digits(3),
            rng.digits(3)
        );
        let key = 97 - body.parse::<u64>().unwrap() % 97;
        v.push((
            vec!["pii.fr_nir"],
            format!(
                "N° sécu : {} {} {} {} {} {} {key:02}",
                &body[..1],
                &body[1..3],
                &body[3..5],
                &body[5..7],
                &body[7..10],
                &body[10..]
            ),
        ));
        v.push((vec![], format!("N° sécu : {body}{:02}", (key + 1) % 97)));
    }
    for _ in 0..3 {
        let id = steuer_id(rng);
        v.push((vec!["pii.de_steuer_id"], format!("Steuer-ID: {id}")));
        let bad = format!(
            "{}{}",
            &id[..10],
            (id[10..].parse::<u32>().unwrap() + 1) % 10
        );
        v.push((vec![], format!("Steuer-ID: {bad}")));
    }
    for _ in 0..3 {
        let n: u32 = rng.digits(8).parse().unwrap();
        let letter = "TRWAGMYFPDXBNJZSQVHLCKE".as_bytes()[(n % 23) as usize] as char;
        v.push((vec!["pii.es_dni"], format!("DNI {n:08}{letter}")));
        let wrong = "TRWAGMYFPDXBNJZSQVHLCKE".as_bytes()[((n + 1) % 23) as usize] as char;
        v.push((vec![], format!("DNI {n:08}{wrong}")));
    }
    let nie: u32 = rng.digits(7).parse().unwrap();
    let letter = "TRWAGMYFPDXBNJZSQVHLCKE".as_bytes()[((10_000_000 + nie) % 23) as usize] as char;
    v.push((vec!["pii.es_dni"], format!("NIE Y{nie:07}{letter}")));
    v.push((
        vec!["pii.email"],
        "Reach jane.doe@acme-industries.de today".to_owned(),
    ));
    v.push((vec!["pii.email"], "cc: m.rossi+cad@fornitore.it".to_owned()));
    for (country, bban) in [
        ("LC", format!("HEMM{}", rng.digits(24))),
        ("SC", format!("SSCB{}USD", rng.digits(20))),
        ("RU", rng.digits(29)),
        ("BI", rng.digits(23)),
        ("IQ", format!("NBIQ{}", rng.digits(15))),
        ("LY", rng.digits(21)),
        ("MN", rng.digits(16)),
        ("SV", format!("CENR{}", rng.digits(20))),
        ("VA", rng.digits(18)),
        ("OM", rng.digits(19)),
    ] {
        let iban = util::iban(country, &bban);
        let dashed: String = iban
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        v.push((vec!["pii.iban"], format!("iban: {dashed}")));
        v.push((vec!["pii.iban"], format!("\"iban\": \"{iban}\"")));
    }
    // Every country of the IBAN registry, from the registry's own example
    // IBAN (tests/corpus/iban-registry-examples.txt, not dlp's length table),
    // one form each in turn: compact, in groups of four by spaces, by dashes;
    // and the same IBAN with a wrong check digit, in the next form: no IBAN.
    for (i, (_, printed)) in iban_registry_examples().into_iter().enumerate() {
        let iban = compact(printed);
        v.push((
            vec!["pii.iban"],
            format!("Bankverbindung / IBAN {}", written(&iban, i)),
        ));
        v.push((
            vec![],
            format!(
                "Bankverbindung / IBAN {}",
                written(&with_wrong_check_digits(&iban), i + 1)
            ),
        ));
    }
    for _ in 0..2 {
        let (area, group, serial) = (100 + rng.below(565), 1 + rng.below(98), 1 + rng.below(9998));
        v.push((
            vec!["pii.us_ssn"],
            format!("SSN: {area} {group:02} {serial:04}"),
        ));
        v.push((
            vec!["pii.us_ssn"],
            format!("social security number {area}{group:02}{serial:04}"),
        ));
    }
    for phone in [
        "0532 123 45 67",
        "+90 532 123 45 67",
        "0917 123 4567",
        "+63 917 123 4567",
        "(02) 8123 4567",
        "07700 900123",
        "030 12345678",
        "0171-1234567",
        "01.42.68.53.00",
        "+91 98765 43210",
        "98765 43210",
        "212.555.0100",
        "1-800-555-0199",
        "+1 (212) 555-0100",
        "+49 30 12345678",
        "+1 415 555 0132",
        "(212) 555-0100",
        "01 42 68 53 00",
        "020 7946 0958",
        "+44 20 7946 0958",
    ] {
        v.push((vec!["pii.phone"], format!("Tel: {phone}")));
    }
    v
}

/// A valid Steuer-ID: one digit twice in the first ten, the check digit last.
fn steuer_id(rng: &mut Rng) -> String {
    let mut digits: Vec<u32> = (0..10).collect();
    for i in (1..10).rev() {
        let j = rng.below(i + 1);
        digits.swap(i, j);
    }
    if digits[0] == 0 {
        digits.swap(0, 1);
    }
    digits[9] = digits[3];
    let mut product = 10;
    for &d in &digits {
        let mut sum = (d + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    digits.push((11 - product) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect()
}

fn markings() -> Vec<(Vec<&'static str>, String)> {
    vec![
        (
            vec!["marking.confidential"],
            "CONFIDENTIAL — do not distribute".to_owned(),
        ),
        (
            vec!["marking.confidential"],
            "Proprietary and Confidential. Acme Industries GmbH.".to_owned(),
        ),
        (
            vec!["marking.proprietary"],
            "PROPRIETARY INFORMATION of Acme".to_owned(),
        ),
        (
            vec!["marking.trade_secret"],
            "TRADE SECRET: curing profile for the composite layup".to_owned(),
        ),
        (vec!["marking.internal"], "FOR INTERNAL USE ONLY".to_owned()),
        (
            vec!["marking.itar"],
            "This document contains ITAR-controlled technical data.".to_owned(),
        ),
        (
            vec!["marking.export_control"],
            "Export classification ECCN: 5E002".to_owned(),
        ),
        (
            vec!["marking.export_control"],
            "Classification: EAR99".to_owned(),
        ),
        (
            vec!["marking.export_control"],
            "Controlled under the EAR as 3A001.a.1".to_owned(),
        ),
    ]
}

/// Every labelled case.
pub fn cases() -> Vec<Case> {
    let mut rng = Rng(0x5eed_0001);
    let mut cases = Vec::new();
    for (i, (id, line)) in secrets(&mut rng).into_iter().enumerate() {
        case(
            &mut cases,
            format!("secret-{i}-{id}.cfg"),
            format!("# settings\n{line}\n"),
            &[id],
        );
    }
    for (i, text) in decoys(&mut rng).into_iter().enumerate() {
        case(&mut cases, format!("decoy-{i}.txt"), text, &[]);
    }
    for (i, (expected, text)) in personal(&mut rng).into_iter().chain(markings()).enumerate() {
        case(&mut cases, format!("data-{i}.txt"), text, &expected);
    }
    containers(&mut rng, &mut cases);
    cases
}

/// The same kinds of content inside every supported container.
fn containers(rng: &mut Rng, cases: &mut Vec<Case>) {
    let ghp = format!("token: ghp_{}", rng.from(ALNUM, 36));
    let card = util::with_luhn(&format!("4{}", rng.digits(14)));
    let env = format!("STRIPE_KEY=sk_live_{}\n", rng.from(ALNUM, 24));
    let mut push = |name: &str, bytes: Vec<u8>, expected: &[&'static str]| {
        cases.push(Case {
            name: name.to_owned(),
            bytes,
            expected: expected.to_vec(),
        });
    };
    push(
        "bundle.zip",
        util::zip(&[
            ("config/.env", env.as_bytes()),
            ("readme.txt", b"nothing here"),
        ]),
        &["stripe.live_key"],
    );
    let inner = util::zip(&[("deep/notes.txt", ghp.as_bytes())]);
    push(
        "outer.zip",
        util::zip(&[("inner.zip", &inner)]),
        &["github.classic_pat"],
    );
    push(
        "src.tar",
        util::tar(&[("src/app.env", env.as_bytes())]),
        &["stripe.live_key"],
    );
    push(
        "src.tar.gz",
        util::gzip(&util::tar(&[("a/b.txt", ghp.as_bytes())])),
        &["github.classic_pat"],
    );
    push(
        "log.txt.gz",
        util::gzip(format!("customer card {card}\n").as_bytes()),
        &["pii.card_number"],
    );
    push(
        "spec.docx",
        util::docx(&["Design review", "PROPRIETARY INFORMATION", &ghp]),
        &["marking.proprietary", "github.classic_pat"],
    );
    push(
        "customers.xlsx",
        util::xlsx(&["Name", "Card", &card]),
        &["pii.card_number"],
    );
    push(
        "deck.pptx",
        util::pptx(&["Roadmap", "TRADE SECRET"]),
        &["marking.trade_secret"],
    );
    push("memo.odt", util::odt(&["Memo", &env]), &["stripe.live_key"]);
    push(
        "drawing.pdf",
        util::pdf(&[&["Bracket drawing rev C"], &["CONFIDENTIAL", "ECCN: 9E003"]]),
        &["marking.confidential", "marking.export_control"],
    );
    push(
        "mail.eml",
        util::eml(
            "Here is the key, see attached",
            ("keys.txt", env.as_bytes()),
        ),
        &["pii.email", "stripe.live_key"],
    );
    push(
        "wide.txt",
        util::utf16le(&format!("notes\r\n{ghp}\r\n")),
        &["github.classic_pat"],
    );
    push(
        "notes.txt.xz",
        util::xz(format!("customer card {card}\n").as_bytes()),
        &["pii.card_number"],
    );
    push(
        "src.tar.xz",
        util::xz(&util::tar(&[("a/b.txt", ghp.as_bytes())])),
        &["github.classic_pat"],
    );
    push("env.zst", util::zstd(env.as_bytes()), &["stripe.live_key"]);
    push(
        "src.tar.zst",
        util::zstd(&util::tar(&[("a/b.txt", ghp.as_bytes())])),
        &["github.classic_pat"],
    );
    push(
        "bundle.7z",
        util::seven_zip(&[
            ("config/.env", env.as_bytes()),
            ("readme.txt", b"nothing here"),
        ]),
        &["stripe.live_key"],
    );
    push(
        "latin1.txt",
        [b"Caf\xe9 cr\xe8me\n".to_vec(), env.into_bytes()].concat(),
        &["stripe.live_key"],
    );
}

/// ISO 7064 MOD 97-10 remainder of a compact IBAN (1 when valid), computed
/// here, not by dlp: the first four characters moved to the end, letters as
/// 10 to 35.
fn mod97(iban: &str) -> u32 {
    let (head, tail) = iban.split_at(4);
    tail.chars().chain(head.chars()).fold(0, |rem, c| {
        let v = c.to_digit(36).unwrap();
        if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        }
    })
}

/// Whether dlp reports an IBAN in `text`.
fn finds_iban(scanner: &Scanner, text: &str) -> bool {
    scanner
        .scan("iban.txt", text.as_bytes())
        .findings
        .iter()
        .any(|f| f.detector == "pii.iban")
}

#[test]
fn iban_registry_examples_pass_mod97_and_are_the_countries_dlp_accepts() {
    let scanner = Scanner::new(ScanConfig::default()).unwrap();
    let examples = iban_registry_examples();
    let mut problems = Vec::new();
    for &(country, printed) in &examples {
        let iban = compact(printed);
        if !iban.starts_with(country)
            || !iban
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            problems.push(format!(
                "{country}: {printed:?} is not an IBAN of {country}"
            ));
            continue;
        }
        if mod97(&iban) != 1 {
            problems.push(format!("{country}: {printed} fails mod-97"));
        }
        let wrong = with_wrong_check_digits(&iban);
        assert_ne!(mod97(&wrong), 1, "{wrong}");
        for form in 0..3 {
            let text = format!("IBAN {}", written(&iban, form));
            if !finds_iban(&scanner, &text) {
                problems.push(format!("{country}: no IBAN found in {text:?}"));
            }
            let text = format!("IBAN {}", written(&wrong, form));
            if finds_iban(&scanner, &text) {
                problems.push(format!("{country}: an IBAN found in {text:?}"));
            }
        }
    }
    let in_file: BTreeSet<&str> = examples.iter().map(|&(c, _)| c).collect();
    assert_eq!(in_file.len(), examples.len(), "a country twice in the file");
    let accepted: BTreeSet<&str> = dlp::iban_countries().collect();
    for c in in_file.difference(&accepted) {
        problems.push(format!("{c}: in the registry, not accepted by dlp"));
    }
    for c in accepted.difference(&in_file) {
        problems.push(format!("{c}: accepted by dlp, not in the registry"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Yemen (YE, 30 characters), a country of the SWIFT IBAN registry (release
/// 101 and 102), was missing from dlp's length table: its IBANs went unreported.
#[test]
fn regression_yemen_was_missing_from_the_iban_countries() {
    let scanner = Scanner::new(ScanConfig::default()).unwrap();
    let (_, printed) = iban_registry_examples()
        .into_iter()
        .find(|&(c, _)| c == "YE")
        .unwrap();
    let iban = compact(printed);
    assert_eq!(iban.len(), 30);
    for form in 0..3 {
        let text = format!("IBAN {}", written(&iban, form));
        assert!(finds_iban(&scanner, &text), "{text}");
    }
}
