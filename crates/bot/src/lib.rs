#![doc = include_str!("../README.md")]

mod edits;
mod handler;
mod parse;
mod reply;
#[cfg(feature = "gateway")]
mod runner;
#[cfg(feature = "gateway")]
mod settings;
mod slash;
mod state;

pub use handler::{Answer, CommandHandler, CommandSettings, CommandStyle, IncomingMessage};
pub use parse::{Command, CommandName, ParseError, parse};
pub use reply::{MAX_MESSAGE_CHARS, split_reply};
#[cfg(feature = "gateway")]
pub use runner::{BotError, DiscordBot};
#[cfg(feature = "gateway")]
pub use settings::{DEFER_AFTER, GatewaySettings, InvalidSettings};
pub use slash::{MAX_CHART_OPTIONS, SlashCall, SlashOption, SlashValue, slash_command};
pub use state::BotState;
