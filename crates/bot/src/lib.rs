#![doc = include_str!("../README.md")]

mod edits;
mod handler;
mod parse;
mod reply;
#[cfg(feature = "gateway")]
mod runner;
#[cfg(feature = "gateway")]
mod settings;
mod state;

pub use handler::{CommandHandler, CommandSettings, IncomingMessage};
pub use parse::{Command, CommandName, ParseError, parse};
pub use reply::{MAX_MESSAGE_CHARS, split_reply};
#[cfg(feature = "gateway")]
pub use runner::{BotError, DiscordBot};
#[cfg(feature = "gateway")]
pub use settings::{GatewaySettings, InvalidSettings};
pub use state::BotState;
