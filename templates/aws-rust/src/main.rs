//! my-service: one Lambda function in Rust, answering HTTP API (payload 2.0) requests.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Builds the answer; kept apart from the runtime so that it can be tested directly.
pub fn answer(event: &Value, stage: &str) -> Value {
    let path = event["rawPath"].as_str().unwrap_or("/");
    json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json" },
        "body": json!({ "message": "Hello from my-service", "stage": stage, "path": path }).to_string(),
    })
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let stage = std::env::var("STAGE").unwrap_or_default();
    Ok(answer(&event.payload, &stage))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_the_stage_and_path() {
        let a = answer(&json!({ "rawPath": "/hi" }), "dev");
        assert_eq!(a["statusCode"], 200);
        let body: Value = serde_json::from_str(a["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["message"], "Hello from my-service");
        assert_eq!(body["stage"], "dev");
        assert_eq!(body["path"], "/hi");
    }
}
