//! Counts the AWS calls (DynamoDB and Secrets Manager) the harness's clients send, by
//! operation (`DynamoDB_20120810.GetItem`, `secretsmanager.GetSecretValue`, ...), and the time
//! they took: what a benchmark reports per delivery. Attempts are counted (a retried call
//! counts twice). Process-wide: take a [`snapshot`] before and after the work to measure.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use std::collections::BTreeMap;
use std::sync::Mutex;

static CALLS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// The interceptor the harness's AWS clients carry.
#[derive(Debug)]
pub struct CountCalls;

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "rmmsync-tests-count-calls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("other")
            .to_owned();
        *CALLS.lock().unwrap().entry(target).or_default() += 1;
        Ok(())
    }
}

/// Calls so far by operation.
pub fn snapshot() -> BTreeMap<String, u64> {
    CALLS.lock().unwrap().clone()
}

/// What happened between two snapshots (operations with no calls left out).
pub fn since(before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    snapshot()
        .into_iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(&k).copied().unwrap_or(0);
            (d > 0).then_some((k, d))
        })
        .collect()
}
