#![doc = include_str!("../README.md")]

mod handler;
mod parse;
mod reply;
mod runner;
mod settings;
mod state;

pub use handler::{CommandHandler, CommandSettings, IncomingMessage};
pub use parse::{Command, CommandName, ParseError, parse};
pub use reply::{MAX_MESSAGE_CHARS, split_reply};
pub use runner::{BotError, DiscordBot};
pub use settings::{GatewaySettings, InvalidSettings};
pub use state::BotState;
