//! OpenAPI schemas of the types whose JSON is not their Rust shape (feature `openapi`): the
//! newtypes written as plain strings or numbers, and the compatibility plan reply.
//!
//! The structs and enums derive theirs (`utoipa::ToSchema`, reading the serde attributes), so
//! a field renamed or made optional changes the document with it.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::wire::PageCursor;
use crate::wire::legacy::{FoundPlan, MissingPlan, PlanReply};
use crate::{
    ChannelId, ChartId, CoachId, HistoryId, MessageId, PlanDate, PlanId, PlanText, RoleId, Sha256,
    Timestamp, UserId,
};

/// A string schema with a description, and a pattern or format when given.
fn string(description: &str, pattern: Option<&str>, format: Option<KnownFormat>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
        .format(format.map(SchemaFormat::KnownFormat))
        .into()
}

/// Implements `ToSchema` for a newtype with the schema `$schema`, named after the type.
macro_rules! schema {
    ($($name:ident => $schema:expr;)*) => {$(
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )*};
}

/// A Discord snowflake: digits in a string, as Discord writes them.
fn snowflake(what: &str) -> RefOr<Schema> {
    string(
        &format!(
            "A Discord {what} id: a positive whole number written as a string (64 bits do not fit a JavaScript number)."
        ),
        Some("^[1-9][0-9]{0,19}$"),
        None,
    )
}

/// One of our row ids: a positive 64-bit integer.
fn row_id(what: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .description(Some(format!("{what}: a positive whole number.")))
        .into()
}

schema! {
    PlanDate => string(
        "A calendar date, YYYY-MM-DD (years 1 to 9999).",
        None,
        Some(KnownFormat::Date),
    );
    // Not `date-time`: rows imported from the Python version carry naive local times.
    Timestamp => string(
        "A timestamp as stored: RFC 3339 in UTC for new rows (2025-11-09T20:36:52.274074+00:00); rows imported from the Python version carry a naive local time without offset.",
        Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})?$"),
        None,
    );
    CoachId => string(
        "A coach id: 1 to 32 lowercase ASCII letters or digits, such as d.",
        Some("^[a-z0-9]{1,32}$"),
        None,
    );
    PlanText => string("The plan as the coach wrote it (line breaks kept).", None, None);
    Sha256 => string(
        "The SHA-256 of an archived image's bytes: 64 lowercase hex digits.",
        Some("^[0-9a-f]{64}$"),
        None,
    );
    PageCursor => string(
        "A page position, YYYY-MM-DD.<id>; pass back the next_cursor of a previous page and treat it as opaque.",
        Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]+$"),
        None,
    );
    UserId => snowflake("user");
    RoleId => snowflake("role");
    ChannelId => snowflake("channel");
    MessageId => snowflake("message");
    PlanId => row_id("A plan's id, stable across edits");
    HistoryId => row_id("A history entry's id");
    ChartId => row_id("A stored chart's id");
}

/// Either reply of `GET /api/coach-plans/`. `anyOf`, not the derived `oneOf`: a found plan
/// also has every key of the missing-plan reply, so it would match both.
impl PartialSchema for PlanReply {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                FoundPlan::name(),
            )))
            .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                MissingPlan::name(),
            )))
            .description(Some(
                "The plan, or (when none was posted) {\"plan\": \"No plan available for coach_<id> on <date>\", \"charts\": []}: test plan.startswith(\"No\") and the absence of author.",
            ))
            .into()
    }
}

impl ToSchema for PlanReply {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PlanReply")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        for (name, schema) in [
            (FoundPlan::name(), FoundPlan::schema()),
            (MissingPlan::name(), MissingPlan::schema()),
        ] {
            schemas.push((name.into_owned(), schema));
        }
        FoundPlan::schemas(schemas);
        MissingPlan::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_reply_names_both_shapes() {
        let mut schemas = Vec::new();
        PlanReply::schemas(&mut schemas);
        let names: Vec<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"FoundPlan") && names.contains(&"MissingPlan"),
            "{names:?}"
        );
        let json = serde_json::to_value(PlanReply::schema()).unwrap_or_default();
        assert_eq!(json["anyOf"][0]["$ref"], "#/components/schemas/FoundPlan");
    }
}
