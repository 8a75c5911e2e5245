//! The contract every [`DeliveryLog`] meets, run by each log's tests through
//! [`delivery_log_contract_tests!`](crate::delivery_log_contract_tests).

use coach_plans_model::{ChannelId, MessageId, PlanId, UserId};

use crate::{Delivery, DeliveryLog};

/// What a delivery log contract case runs against: a log, alone or with something that must
/// outlive it (the temporary directory of its files), as `(log, guard)`.
pub trait DeliveryFixture {
    /// The log under test.
    fn log(&self) -> &dyn DeliveryLog;
}

impl<L: DeliveryLog> DeliveryFixture for L {
    fn log(&self) -> &dyn DeliveryLog {
        self
    }
}

impl<L: DeliveryLog, G> DeliveryFixture for (L, G) {
    fn log(&self) -> &dyn DeliveryLog {
        &self.0
    }
}

/// Expands to one `#[test]` per delivery log contract case. `$make` is evaluated afresh in
/// each test and gives a [`DeliveryFixture`]: an empty log, or `(log, guard)`.
///
/// ```
/// mod memory {
///     coach_plans_storage::delivery_log_contract_tests!(
///         coach_plans_storage::MemoryDeliveryLog::new()
///     );
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! delivery_log_contract_tests {
    ($make:expr $(,)?) => {
        $crate::__delivery_log_contract_tests! {
            { $make }
            a_new_log_knows_no_channel_and_no_message,
            a_cursor_only_moves_forward,
            a_recorded_message_reads_back_and_moves_its_channels_cursor,
            a_message_is_recorded_once,
            an_edit_changes_the_text_of_a_recorded_message_only,
            snowflakes_beyond_32_bits_keep_their_order,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __delivery_log_contract_tests {
    ({ $make:expr } $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let fixture = $make;
                $crate::contract::delivery::$case(
                    $crate::contract::delivery::DeliveryFixture::log(&fixture),
                );
            }
        )*
    };
}

fn channel(id: u64) -> ChannelId {
    ChannelId::new(id).unwrap()
}

fn message(id: u64) -> MessageId {
    MessageId::new(id).unwrap()
}

fn delivery(id: u64, channel_id: u64, plan: Option<i64>, content: &str) -> Delivery {
    Delivery {
        message: message(id),
        channel: channel(channel_id),
        author: UserId::new(42).unwrap(),
        plan: plan.and_then(PlanId::new),
        content: content.to_owned(),
    }
}

/// An empty log has no cursor and no record.
pub fn a_new_log_knows_no_channel_and_no_message(log: &dyn DeliveryLog) {
    assert_eq!(log.cursors().unwrap(), vec![]);
    assert_eq!(log.delivery(message(7)).unwrap(), None);
    assert!(!log.record_edit(message(7), "text").unwrap());
}

/// A cursor never moves back; channels are listed in id order.
pub fn a_cursor_only_moves_forward(log: &dyn DeliveryLog) {
    log.advance_cursor(channel(600), message(10)).unwrap();
    log.advance_cursor(channel(500), message(20)).unwrap();
    log.advance_cursor(channel(600), message(15)).unwrap();
    log.advance_cursor(channel(600), message(12)).unwrap();
    assert_eq!(
        log.cursors().unwrap(),
        vec![(channel(500), message(20)), (channel(600), message(15))]
    );
}

/// A recorded message reads back field for field and moves its channel's cursor forward (not
/// back).
pub fn a_recorded_message_reads_back_and_moves_its_channels_cursor(log: &dyn DeliveryLog) {
    let posted = delivery(30, 500, Some(3), "!plan d NVDA above 950 🚀");
    assert!(log.record(&posted).unwrap());
    assert_eq!(log.delivery(message(30)).unwrap(), Some(posted));
    assert_eq!(log.cursors().unwrap(), vec![(channel(500), message(30))]);
    log.advance_cursor(channel(500), message(40)).unwrap();
    let listing = delivery(35, 500, None, "!plans");
    assert!(log.record(&listing).unwrap());
    assert_eq!(log.delivery(message(35)).unwrap(), Some(listing));
    assert_eq!(log.cursors().unwrap(), vec![(channel(500), message(40))]);
}

/// Recording a message a second time changes nothing and says so.
pub fn a_message_is_recorded_once(log: &dyn DeliveryLog) {
    let first = delivery(30, 500, Some(3), "!plan d first");
    assert!(log.record(&first).unwrap());
    let again = delivery(30, 500, Some(9), "!plan d second");
    assert!(!log.record(&again).unwrap());
    assert_eq!(log.delivery(message(30)).unwrap(), Some(first));
}

/// An edit replaces the text of that message alone; the plan and author stay.
pub fn an_edit_changes_the_text_of_a_recorded_message_only(log: &dyn DeliveryLog) {
    let posted = delivery(30, 500, Some(3), "!plan d typo");
    let other = delivery(31, 500, Some(4), "!plan i other");
    log.record(&posted).unwrap();
    log.record(&other).unwrap();
    assert!(log.record_edit(message(30), "!plan d fixed").unwrap());
    assert_eq!(
        log.delivery(message(30)).unwrap(),
        Some(Delivery {
            content: "!plan d fixed".to_owned(),
            ..posted
        })
    );
    assert_eq!(log.delivery(message(31)).unwrap(), Some(other));
    assert!(!log.record_edit(message(32), "!plan d never seen").unwrap());
}

/// Real snowflakes (above 2^32, near 2^60) are compared as numbers.
pub fn snowflakes_beyond_32_bits_keep_their_order(log: &dyn DeliveryLog) {
    let old = 1_200_000_000_000_000_000;
    let new = 1_300_000_000_000_000_000;
    log.advance_cursor(channel(500), message(new)).unwrap();
    log.advance_cursor(channel(500), message(old)).unwrap();
    log.advance_cursor(channel(500), message(9)).unwrap();
    assert_eq!(log.cursors().unwrap(), vec![(channel(500), message(new))]);
    log.record(&delivery(new + 1, 500, None, "!help")).unwrap();
    assert_eq!(
        log.cursors().unwrap(),
        vec![(channel(500), message(new + 1))]
    );
}
