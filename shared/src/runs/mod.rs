//! The run machine the workers share: the two event shapes a worker is
//! invoked with (an EventBridge schedule, DynamoDB stream records of run items).

pub mod events;
