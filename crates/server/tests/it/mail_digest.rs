//! Notifications by e-mail, on SQLite and PostgreSQL: each user's choice
//! through the API (each at once, or a daily digest), security notices mailed
//! at once whatever the choice, a digest at most once a day listing what
//! waited, nothing mailed twice — not even by two workers at once — and
//! nothing mailed to a disabled user or from before mail was on.

use serde_json::{Value, json};

use crate::util::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Makes a notification of `kind` for `user`, as every use-case does.
async fn notice(ctx: &Ctx, user: &str, kind: &str, message: &str) {
    let mut tx = ctx.app.store().begin().await.unwrap();
    app::events::notify(
        &mut tx,
        user.parse().unwrap(),
        ctx.now(),
        kind,
        format!("test:{kind}"),
        message.to_owned(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// One pass of the worker's queueing, as (single, digests, skipped).
async fn pass(ctx: &Ctx) -> (usize, usize, usize) {
    let q = app::notify::mail_notifications(&ctx.app).await.unwrap();
    (q.single, q.digests, q.skipped)
}

/// Every message in the outbox, as (recipient, kind, text).
async fn outbox(ctx: &Ctx) -> Vec<(String, String, String)> {
    let mut tx = ctx.app.store().read().await.unwrap();
    let mut out = Vec::new();
    for id in tx.due_mail(ctx.now() + 365 * DAY, 10_000).await.unwrap() {
        let m = tx.get_mail(id).await.unwrap().unwrap();
        out.push((m.recipient, m.kind, m.body_text));
    }
    out
}

#[tokio::test]
async fn notifications_are_mailed_at_once_or_in_a_daily_digest() {
    let mut backends = vec![Backend::Sqlite];
    match postgres().await {
        Some(url) => backends.push(Backend::Postgres(url)),
        None => eprintln!("mail_digest: NOT RUN on PostgreSQL"),
    }
    for backend in backends {
        let ctx = Ctx::with(backend, |s| s.mail_enabled = true).await;
        digests(&ctx).await;
    }
}

async fn digests(ctx: &Ctx) {
    let admin = ctx
        .must(&ctx.admin, "GET", "/auth/me", Value::Null, 200)
        .await;
    let admin_id = admin["id"].as_str().unwrap().to_owned();
    let admin_mail = admin["email"].as_str().unwrap().to_owned();
    let daily = ctx.staff("member").await;
    let gone = ctx.staff("member").await;
    // The choice, through the API; a name it does not know is refused.
    let pref = "/auth/mail-preference";
    let got = ctx.must(&daily.token, "GET", pref, Value::Null, 200).await;
    assert_eq!(got["digest"], "immediate");
    let r = ctx
        .call(&daily.token, "PUT", pref, json!({"digest": "weekly"}))
        .await;
    assert_eq!(r.json()["error"]["code"], "unknown_name", "{}", r.text());
    ctx.must(&daily.token, "PUT", pref, json!({"digest": "daily"}), 200)
        .await;
    let got = ctx.must(&daily.token, "GET", pref, Value::Null, 200).await;
    assert_eq!(got["digest"], "daily");
    ctx.must(
        &ctx.admin,
        "PATCH",
        &format!("/users/{}", gone.id),
        json!({"disabled": true}),
        200,
    )
    .await;

    // From before mail was on: passed over.
    notice(ctx, &admin_id, "review.remind", "An old reminder.").await;
    ctx.advance(3 * DAY);
    notice(
        ctx,
        &admin_id,
        "review.remind",
        "Review the Drawings grants.",
    )
    .await;
    notice(ctx, &daily.id, "review.remind", "First reminder.").await;
    notice(ctx, &daily.id, "agreement.reminder", "Second reminder.").await;
    notice(ctx, &daily.id, "watch.alert", "Unusual downloads by Ana.").await;
    notice(ctx, &gone.id, "watch.alert", "For nobody.").await;
    assert_eq!(pass(ctx).await, (2, 0, 2));
    assert_eq!(pass(ctx).await, (0, 0, 0), "nothing twice");
    let sent = outbox(ctx).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().any(|(to, kind, text)| to == &admin_mail
        && kind == "notification"
        && text.contains("Review the Drawings grants.")));
    assert!(
        sent.iter()
            .any(|(to, _, text)| to == &daily.email && text.contains("Unusual downloads by Ana."))
    );
    assert!(
        !sent
            .iter()
            .any(|(_, _, text)| text.contains("old reminder") || text.contains("For nobody"))
    );

    // The digest comes a day after the oldest waiting notification.
    ctx.advance(DAY - HOUR);
    assert_eq!(pass(ctx).await, (0, 0, 0));
    ctx.advance(HOUR);
    assert_eq!(pass(ctx).await, (0, 1, 0));
    let digest: Vec<_> = outbox(ctx)
        .await
        .into_iter()
        .filter(|(_, kind, _)| kind == "digest")
        .collect();
    assert_eq!(digest.len(), 1, "{digest:?}");
    assert_eq!(digest[0].0, daily.email);
    let text = &digest[0].2;
    assert!(text.contains("2 notification(s)"), "{text}");
    assert!(
        text.contains("First reminder.") && text.contains("Second reminder."),
        "{text}"
    );

    // At most one a day, even with two workers at once.
    ctx.advance(HOUR);
    notice(ctx, &daily.id, "review.remind", "Third reminder.").await;
    assert_eq!(pass(ctx).await, (0, 0, 0));
    ctx.advance(DAY);
    let (a, b) = tokio::join!(
        app::notify::mail_notifications(&ctx.app),
        app::notify::mail_notifications(&ctx.app)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.digests + b.digests, 1, "{a:?} {b:?}");
    let digests = outbox(ctx)
        .await
        .into_iter()
        .filter(|(_, kind, text)| kind == "digest" && text.contains("Third reminder."))
        .count();
    assert_eq!(digests, 1);
    let events = ctx.events().await;
    let chosen: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "account.mail")
        .collect();
    assert_eq!(chosen.len(), 1, "{chosen:?}");
    assert_eq!(chosen[0]["detail"]["digest"], "daily");
}

/// An invitation is mailed with a link built from `public_url`, never from
/// the request's `Host`; without `public_url` it is not mailed. An agreement
/// awaiting a party's signature is a notification to its users, mailed.
#[tokio::test]
async fn invitations_and_agreement_offers_are_mailed() {
    let ctx = Ctx::with(Backend::Sqlite, |s| {
        s.mail_enabled = true;
        s.public_url = Some("https://custody.example.com".into());
    })
    .await;
    let party = ctx.party("Vendor Works").await;
    let invite = json!({"email": "ana@vendor.example", "display_name": "Ana Lima",
        "party_id": party});
    let r = ctx
        .send(&Case {
            who: Some(ctx.admin.clone()),
            method: "POST",
            path: format!("{V1}/invitations"),
            body: Payload::Json(invite),
            headers: vec![("host", "evil.example".into())],
            ..Case::default()
        })
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text());
    let accept = r.json()["accept_path"].as_str().unwrap().to_owned();
    let sent = outbox(&ctx).await;
    let invitation: Vec<_> = sent.iter().filter(|(_, k, _)| k == "invitation").collect();
    assert_eq!(invitation.len(), 1, "{sent:?}");
    assert_eq!(invitation[0].0, "ana@vendor.example");
    let text = &invitation[0].2;
    assert!(
        text.contains(&format!("https://custody.example.com{accept}")),
        "{text}"
    );
    assert!(!text.contains("evil.example"), "{text}");
    let page = ctx
        .send(&Case {
            method: "GET",
            path: accept.clone(),
            ..Case::default()
        })
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());

    // The agreement offer reaches the party's user, by mail too.
    let user = ctx.external(&party).await;
    let body = json!({"party_id": party, "kind": "nda", "template": "vendor-nda",
        "title": "Vendor NDA", "text": "Keep it secret."});
    ctx.must(&ctx.admin, "POST", "/agreements", body, 201).await;
    let (single, _, _) = pass(&ctx).await;
    assert!(single >= 1);
    let offers: Vec<_> = outbox(&ctx)
        .await
        .into_iter()
        .filter(|(to, _, text)| to == &user.email && text.contains("Vendor NDA"))
        .collect();
    assert_eq!(offers.len(), 1, "{offers:?}");

    // Without `public_url`, nothing is mailed; the admin hands the link over.
    let plain = Ctx::with(Backend::Sqlite, |s| s.mail_enabled = true).await;
    let party = plain.party("Other Works").await;
    let invite = json!({"email": "bo@other.example", "display_name": "Bo", "party_id": party});
    plain
        .must(&plain.admin, "POST", "/invitations", invite, 201)
        .await;
    assert!(
        outbox(&plain)
            .await
            .iter()
            .all(|(_, k, _)| k != "invitation")
    );
}
