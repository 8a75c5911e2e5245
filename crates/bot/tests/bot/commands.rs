//! The command layer: plain messages in, plain replies out, over an in-memory store.

use coach_plans_bot::{CommandSettings, MAX_MESSAGE_CHARS};
use coach_plans_model::{ChannelId, RoleId, UserId};
use coach_plans_service::ServiceSettings;

use crate::helpers::*;

#[tokio::test]
async fn a_plan_with_two_images_and_a_pdf_keeps_two_charts_in_order_and_names_the_pdf() {
    let handler = handler();
    let mut post = message(
        DANA,
        "dana",
        "!plan d NVDA above 950, stop 920\nAAPL watch 190",
    );
    post.channel_name = Some("trading".into());
    post.attachments = vec![
        attachment("first.png", "image/png"),
        attachment("notes.pdf", "application/pdf"),
        attachment("second.png", "image/png"),
    ];
    let reply = reply(&handler, &post).await;
    assert!(reply.starts_with("✅"), "{reply}");
    for part in [
        "Coach D",
        TODAY,
        "2 charts",
        "NVDA above 950, stop 920 AAPL watch 190",
        "Skipped: notes.pdf (not an image)",
        "created",
    ] {
        assert!(reply.contains(part), "{part:?} missing from {reply}");
    }
    let plan = todays_plan(&handler, "d").await.unwrap();
    let names: Vec<_> = plan.charts.iter().map(|c| c.filename().unwrap()).collect();
    assert_eq!(names, ["first.png", "second.png"]);
    assert_eq!(
        plan.text.as_str(),
        "NVDA above 950, stop 920\nAAPL watch 190"
    );
    assert_eq!(plan.channel.name.as_deref(), Some("#trading"));
    assert_eq!(plan.author.name, "dana");
}

#[tokio::test]
async fn success_replies_quote_a_hundred_characters_at_most() {
    let handler = handler();
    let long = "x".repeat(300);
    let reply = reply(
        &handler,
        &message(DANA, "dana", &format!("!plan s 2024-05-09 {long}")),
    )
    .await;
    let quote = reply.lines().find(|l| l.starts_with("> ")).unwrap();
    assert_eq!(quote, format!("> {}…", "x".repeat(100)));
    assert!(
        reply.contains("Coach S") && reply.contains("2024-05-09") && reply.contains("0 charts")
    );
}

#[tokio::test]
async fn a_second_post_by_the_same_author_replaces_the_plan() {
    let handler = handler();
    reply(&handler, &message(DANA, "dana", "!plan d first")).await;
    let second = reply(&handler, &message(DANA, "dana", "!plan D: second")).await;
    assert!(second.starts_with("✅ Plan replaced"), "{second}");
    let plan = todays_plan(&handler, "d").await.unwrap();
    assert_eq!(plan.text.as_str(), "second");
}

#[tokio::test]
async fn a_second_post_by_another_user_is_refused_and_says_who_may() {
    let handler = handler();
    reply(&handler, &message(DANA, "dana", "!plan d first")).await;
    let refused = reply(&handler, &message(EVE, "eve", "!plan d mine now")).await;
    assert!(refused.starts_with("❌"), "{refused}");
    assert!(
        refused.contains("dana") && refused.contains("admin"),
        "{refused}"
    );
    let plan = todays_plan(&handler, "d").await.unwrap();
    assert_eq!(plan.text.as_str(), "first");
}

#[tokio::test]
async fn an_edit_by_another_user_is_refused_and_an_edit_by_the_author_is_kept() {
    let handler = handler();
    reply(&handler, &message(DANA, "dana", "!plan d first")).await;
    let refused = reply(&handler, &message(EVE, "eve", "!edit d hijacked")).await;
    assert!(
        refused.starts_with("❌ You can't edit this plan"),
        "{refused}"
    );
    assert!(
        refused.contains("only its author (dana) or an admin"),
        "{refused}"
    );

    let edited = reply(
        &handler,
        &message(DANA, "dana", "!edit d 2024-05-10 better"),
    )
    .await;
    assert!(
        edited.starts_with("✅ Plan edited for **Coach D** on 2024-05-10"),
        "{edited}"
    );
    let plan = todays_plan(&handler, "d").await.unwrap();
    assert_eq!(plan.text.as_str(), "better");
    assert!(plan.edited_at.is_some());

    // By id, with a new image: the charts are replaced.
    let mut by_id = message(DANA, "dana", &format!("!edit {} best", plan.id));
    by_id.attachments = vec![attachment("new.png", "image/png")];
    let edited = reply(&handler, &by_id).await;
    assert!(
        edited.contains("1 chart") && edited.contains("charts replaced"),
        "{edited}"
    );
}

#[tokio::test]
async fn an_admin_may_change_anyones_plan() {
    let admin_role = RoleId::new(77).unwrap();
    let settings = ServiceSettings {
        admin_role_ids: vec![admin_role],
        ..ServiceSettings::default()
    };
    let handler = handler_with(service_with(settings), CommandSettings::default());
    reply(&handler, &message(DANA, "dana", "!plan i intraday plan")).await;
    let mut admin = message(EVE, "eve", "!edit i fixed a typo");
    admin.role_ids = vec![admin_role];
    assert!(reply(&handler, &admin).await.starts_with("✅"));
    admin.content = "!delete i".into();
    assert!(reply(&handler, &admin).await.starts_with("✅ Plan deleted"));
}

#[tokio::test]
async fn delete_keeps_history_and_the_date_may_be_posted_again() {
    let handler = handler();
    reply(&handler, &message(DANA, "dana", "!plan n CPI at 8:30")).await;
    reply(
        &handler,
        &message(DANA, "dana", "!edit n CPI at 8:30, FOMC at 2"),
    )
    .await;
    let deleted = reply(&handler, &message(DANA, "dana", "!delete n")).await;
    assert!(
        deleted.starts_with("✅ Plan deleted for **Coach N** on 2024-05-10"),
        "{deleted}"
    );
    assert!(todays_plan(&handler, "n").await.is_none());

    let history = reply(&handler, &message(EVE, "eve", "!history n")).await;
    assert!(history.contains("(deleted)"), "{history}");
    let deleted_at = history.find("**deleted**").unwrap();
    let edited_at = history.find("**edited**").unwrap();
    assert!(deleted_at < edited_at, "newest first: {history}");
    assert!(
        history.contains("> CPI at 8:30\n") || history.ends_with("> CPI at 8:30"),
        "{history}"
    );

    let again = reply(&handler, &message(EVE, "eve", "!plan n new plan")).await;
    assert!(again.starts_with("✅ Plan created"), "{again}");
}

#[tokio::test]
async fn missing_plans_are_named_clearly() {
    let handler = handler();
    let missing = reply(&handler, &message(DANA, "dana", "!delete s 2024-05-01")).await;
    assert_eq!(
        missing,
        "❌ There is no plan for **Coach S** on 2024-05-01."
    );
    let missing = reply(&handler, &message(DANA, "dana", "!edit 999 text")).await;
    assert_eq!(missing, "❌ There is no plan with id 999.");
    let today = reply(&handler, &message(DANA, "dana", "!history d")).await;
    assert!(today.contains("today (2024-05-10)"), "{today}");
}

#[tokio::test]
async fn plans_lists_every_plan_and_myplans_only_the_callers() {
    let handler = handler();
    reply(&handler, &message(DANA, "dana", "!plan s swing plan")).await;
    reply(&handler, &message(EVE, "eve", "!plan d day plan")).await;
    reply(
        &handler,
        &message(EVE, "eve", "!plan i 2024-05-09 yesterday's plan"),
    )
    .await;

    let all = reply(&handler, &message(DANA, "dana", "!plans")).await;
    assert!(all.starts_with("📋 Plans for 2024-05-10 (2):"), "{all}");
    assert!(
        all.find("Coach D").unwrap() < all.find("Coach S").unwrap(),
        "roster order: {all}"
    );
    assert!(all.contains("day plan") && all.contains("swing plan") && !all.contains("yesterday"));

    let mine = reply(&handler, &message(EVE, "eve", "!myplans 2024-05-09")).await;
    assert!(
        mine.contains("yesterday's plan") && mine.contains("(1)"),
        "{mine}"
    );
    let none = reply(&handler, &message(DANA, "dana", "!myplans 2024-05-09")).await;
    assert_eq!(none, "📋 Your plans for 2024-05-09: none yet.");
}

#[tokio::test]
async fn a_long_listing_is_split_into_messages_discord_accepts() {
    let handler = handler();
    for (coach, author) in [("d", DANA), ("i", EVE)] {
        let text = (0..15)
            .map(|n| format!("level {n}: {}", "é".repeat(80)))
            .collect::<Vec<_>>()
            .join("\n");
        reply(
            &handler,
            &message(author, "poster", &format!("!plan {coach} {text}")),
        )
        .await;
    }
    let replies = handler.handle(&message(DANA, "dana", "!plans")).await;
    let total: usize = replies.iter().map(|r| r.chars().count()).sum();
    assert!(total > 2500, "the listing should be long, was {total}");
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| r.chars().count() <= MAX_MESSAGE_CHARS)
    );
    assert!(
        replies.iter().all(|r| r
            .lines()
            .all(|l| !l.starts_with("level") || l.ends_with('é'))),
        "a line was cut"
    );
}

#[tokio::test]
async fn mistakes_get_an_answer_a_coach_understands() {
    let handler = handler();
    let unknown = reply(&handler, &message(DANA, "dana", "!plan x buy")).await;
    assert_eq!(
        unknown,
        "❌ Unknown coach 'x'. Valid coaches: d (Coach D), i (Coach I), s (Coach S), n (Coach N)."
    );
    let bad_date = reply(&handler, &message(DANA, "dana", "!plan d 2024-02-30 buy")).await;
    assert!(
        bad_date.starts_with("❌ '2024-02-30' is not a date") && bad_date.contains("YYYY-MM-DD"),
        "{bad_date}"
    );
    let no_coach = reply(&handler, &message(DANA, "dana", "!plan")).await;
    assert!(
        no_coach.contains("Usage: `!plan <coach> [YYYY-MM-DD] <text>`"),
        "{no_coach}"
    );
    let too_long = reply(
        &handler,
        &message(DANA, "dana", &format!("!plan d {}", "x".repeat(4001))),
    )
    .await;
    assert!(
        too_long.starts_with("❌ The plan text is 4001 characters long"),
        "{too_long}"
    );

    let mut charts_only = message(DANA, "dana", "!plan d");
    charts_only.attachments = vec![attachment("chart.png", "image/png")];
    let reply_text = reply(&handler, &charts_only).await;
    assert!(
        reply_text.starts_with("❌ Add the plan text"),
        "{reply_text}"
    );
    assert!(todays_plan(&handler, "d").await.is_none());
}

#[tokio::test]
async fn too_many_images_are_refused_and_nothing_is_saved() {
    let handler = handler();
    let mut post = message(DANA, "dana", "!plan d lots of charts");
    post.attachments = (0..11)
        .map(|n| attachment(&format!("c{n}.png"), "image/png"))
        .collect();
    let refused = reply(&handler, &post).await;
    assert!(
        refused.starts_with("❌ 11 chart images") && refused.contains("at most 10"),
        "{refused}"
    );
    assert!(todays_plan(&handler, "d").await.is_none());
}

#[tokio::test]
async fn restricted_coaches_refuse_other_posters_and_say_so() {
    let mut settings = ServiceSettings::default();
    let mut coaches = settings.roster.coaches().to_vec();
    coaches[0].poster_user_ids = vec![UserId::new(DANA).unwrap()];
    settings.roster = coach_plans_model::Roster::new(coaches).unwrap();
    let handler = handler_with(service_with(settings), CommandSettings::default());
    let refused = reply(&handler, &message(EVE, "eve", "!plan d not mine")).await;
    assert!(
        refused.starts_with("❌ You can't post plans for **Coach D**"),
        "{refused}"
    );
    assert!(
        reply(&handler, &message(DANA, "dana", "!plan d mine"))
            .await
            .starts_with("✅")
    );
}

#[tokio::test]
async fn help_shows_usage() {
    let handler = handler();
    let help = reply(&handler, &message(DANA, "dana", "!help")).await;
    for command in [
        "!plan", "!edit", "!delete", "!plans", "!myplans", "!history", "!help",
    ] {
        assert!(
            help.contains(&format!("`{command} ")),
            "{command} missing from {help}"
        );
    }
    let plan = reply(&handler, &message(DANA, "dana", "!help plan")).await;
    assert!(
        plan.starts_with("Usage: `!plan <coach> [YYYY-MM-DD] <text>`"),
        "{plan}"
    );
    assert!(plan.contains("png, jpg, gif or webp"));
}

#[tokio::test]
async fn messages_not_for_us_are_ignored_silently() {
    let settings = CommandSettings {
        prefix: "!".into(),
        channels: vec![ChannelId::new(CHANNEL).unwrap()],
        bot_user_id: Some(UserId::new(99).unwrap()),
    };
    let handler = handler_with(service_with(ServiceSettings::default()), settings);

    let mut from_bot = message(DANA, "dana", "!plan d from a bot");
    from_bot.author_is_bot = true;
    let mut from_webhook = message(DANA, "dana", "!plan d from a webhook");
    from_webhook.from_webhook = true;
    let own = message(99, "coach-plans", "!plan d from ourselves");
    let mut elsewhere = message(DANA, "dana", "!plan d in another channel");
    elsewhere.channel_id = ChannelId::new(CHANNEL + 1).unwrap();
    let other_bot = message(DANA, "dana", "!planet d hello");
    let chat = message(DANA, "dana", "good morning");
    let mut attachments_only = message(DANA, "dana", "");
    attachments_only.attachments = vec![attachment("chart.png", "image/png")];

    for ignored in [
        from_bot,
        from_webhook,
        own,
        elsewhere,
        other_bot,
        chat,
        attachments_only,
    ] {
        assert!(
            handler.handle(&ignored).await.is_empty(),
            "{ignored:?} got a reply"
        );
    }
    assert!(todays_plan(&handler, "d").await.is_none());
    assert!(
        !reply(&handler, &message(DANA, "dana", "!help"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_prefix_comes_from_the_settings() {
    let settings = CommandSettings {
        prefix: "cp!".into(),
        ..CommandSettings::default()
    };
    let handler = handler_with(service_with(ServiceSettings::default()), settings);
    assert!(
        handler
            .handle(&message(DANA, "dana", "!plan d text"))
            .await
            .is_empty()
    );
    assert!(
        reply(&handler, &message(DANA, "dana", "cp!PLAN d text"))
            .await
            .starts_with("✅")
    );
    assert!(
        reply(&handler, &message(DANA, "dana", "cp!help"))
            .await
            .contains("`cp!plan ")
    );
}

#[tokio::test]
async fn a_date_that_is_not_real_is_refused_by_every_command_and_no_plan_changes() {
    let handler = handler();
    reply(&handler, &message(DANA, "dana", "!plan d the real plan")).await;
    for token in ["99999-01-01", "+2030-01-05", "２０２４-０１-０５"] {
        for content in [
            format!("!plan d {token} x"),
            format!("!edit d {token} x"),
            format!("!delete d {token}"),
            format!("!history d {token}"),
            format!("!plans {token}"),
            format!("!myplans {token}"),
        ] {
            let refused = reply(&handler, &message(DANA, "dana", &content)).await;
            assert!(
                refused.starts_with(&format!("❌ '{token}' is not a date"))
                    && refused.contains("YYYY-MM-DD"),
                "{content:?} gave {refused}"
            );
        }
    }
    let plan = todays_plan(&handler, "d").await.unwrap();
    assert_eq!(plan.text.as_str(), "the real plan");
    assert!(plan.edited_at.is_none());
    let full_width = reply(
        &handler,
        &message(DANA, "dana", "!plan d ２０２４-０１-０５ x"),
    )
    .await;
    assert!(full_width.contains("with the digits 0-9"), "{full_width}");
}

#[tokio::test]
async fn a_plan_with_nothing_visible_is_refused_and_nothing_is_stored_or_replaced() {
    let handler = handler();
    let invisible = "\u{200B}\u{200C}\u{200D} \u{2060}\u{FEFF}\u{180E}\u{202E}\u{E0041}";
    let refused = reply(
        &handler,
        &message(DANA, "dana", &format!("!plan d {invisible}")),
    )
    .await;
    assert!(
        refused.starts_with("❌") && refused.contains("nothing visible"),
        "{refused}"
    );
    assert!(todays_plan(&handler, "d").await.is_none());

    reply(&handler, &message(DANA, "dana", "!plan d the real plan")).await;
    for content in [
        format!("!plan d {invisible}"),
        format!("!edit d {invisible}"),
        format!("!plan d 2024-05-10 {invisible}"),
    ] {
        let refused = reply(&handler, &message(DANA, "dana", &content)).await;
        assert!(
            refused.contains("nothing visible"),
            "{content:?}: {refused}"
        );
    }
    let plan = todays_plan(&handler, "d").await.unwrap();
    assert_eq!(plan.text.as_str(), "the real plan");
}

#[tokio::test]
async fn nul_is_not_stored_and_bidi_controls_never_reach_a_reply() {
    const BIDI: [char; 10] = [
        '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
        '\u{202E}', '\u{2066}', '\u{2067}',
    ];
    let clean = |reply: &str| !reply.contains(BIDI) && !reply.contains('\0');
    let handler = handler();
    // A name that would reverse the rest of the line, a plan that hides its real words.
    let name = "dana\u{202E} (admin)";
    let posted = reply(
        &handler,
        &message(
            DANA,
            name,
            "!plan d stop \u{202E}029 \u{0}evoba\u{202C} \u{2067}now",
        ),
    )
    .await;
    assert!(posted.starts_with("✅") && clean(&posted), "{posted:?}");
    let plan = todays_plan(&handler, "d").await.unwrap();
    assert_eq!(plan.text.as_str(), "stop 029 evoba \u{2067}now");

    let mut asked = Vec::new();
    for (author, content) in [
        (EVE, "!plans"),
        (DANA, "!myplans"),
        (EVE, "!edit d mine"),
        (DANA, "!edit d stop \u{202D}920"),
        (EVE, "!history d"),
        (DANA, "!plan \u{202E}x text"),
        (DANA, "!plans 2024-05-1\u{202E}0"),
        (DANA, "!delete d \u{202E}now"),
        (DANA, "!delete d"),
    ] {
        let name = if author == DANA { name } else { "eve" };
        for reply in handler.handle(&message(author, name, content)).await {
            assert!(clean(&reply), "{content:?} gave {reply:?}");
            asked.push(reply);
        }
    }
    assert!(
        asked.iter().any(|r| r.contains("dana (admin)")),
        "{asked:?}"
    );
}

#[tokio::test]
async fn skipped_attachments_are_named_with_the_real_reason_in_one_short_reply() {
    let handler = handler();
    let long_name = format!("{}.png", "x".repeat(5000));
    let mut http = attachment("plain.png", "image/png");
    http.url = "http://cdn.discordapp.com/attachments/500/1/plain.png".into();
    let mut post = message(DANA, "dana", "!plan d NVDA above 950");
    post.attachments = vec![
        attachment("kept.png", "image/png"),
        attachment("notes.pdf", "application/pdf"),
        attachment(&long_name, "image/png"),
        attachment("chart\u{202E}gnp.png", "image/png"),
        http,
    ];
    let replies = handler.handle(&post).await;
    assert_eq!(
        replies.len(),
        1,
        "one reply, not {}: {replies:?}",
        replies.len()
    );
    let answer = &replies[0];
    assert!(answer.chars().count() < 1000, "{answer}");
    for part in [
        "1 chart",
        "notes.pdf (not an image)",
        "xxxxxxxxxx… (file name too long)",
        "chartgnp.png (bad file name)",
        "plain.png (not an https link)",
    ] {
        assert!(answer.contains(part), "{part:?} missing from {answer}");
    }
    assert!(!answer.contains('\u{202E}'));

    // An edit whose only image is refused keeps the charts, and says so.
    let mut edit = message(DANA, "dana", "!edit d NVDA above 955");
    edit.attachments = vec![attachment(&long_name, "image/png")];
    let edited = reply(&handler, &edit).await;
    assert!(
        !edited.contains("charts replaced") && edited.contains("1 chart"),
        "{edited}"
    );
    assert!(edited.contains("(file name too long)"), "{edited}");

    // Many files with long names still make one message: ten are named, the rest counted.
    let mut many = message(DANA, "dana", "!plan i lots of files");
    many.attachments = (0..25)
        .map(|n| attachment(&format!("{n}{}.pdf", "n".repeat(200)), "application/pdf"))
        .collect();
    let listed = reply(&handler, &many).await;
    assert_eq!(listed.matches("(not an image)").count(), 10, "{listed}");
    assert!(listed.contains(", and 15 more"), "{listed}");
}
