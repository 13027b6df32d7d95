//! A function alias' URL: read, made or changed, and the grants that let anyone call a public
//! one.

use aws_sdk_lambda::types::{Cors, FunctionUrlAuthType, InvokeMode};

use crate::plan::function::{ObservedUrl, URL_INVOKE_STATEMENT, URL_STATEMENT, UrlSpec};
use crate::plan::http_api::CorsSpec;
use crate::provider::aws::context::Applying;
use crate::provider::aws::{Aws, AwsError, NOT_FOUND, call_err, is_code};

crate::provider::aws::cors_conversions!(Cors);

/// The URL the plan wants on `alias`: `url:` on the live alias, a public preview elsewhere.
pub(super) fn url_spec(cx: &Applying<'_>, key: &str, alias: &str) -> Result<UrlSpec, AwsError> {
    if alias != cx.d.live {
        return Ok(UrlSpec::public());
    }
    cx.d.function(key)
        .and_then(|f| f.url.clone())
        .ok_or_else(|| AwsError::Other(format!("the plan gives `{key}` a URL its config lacks")))
}

/// An alias' function URL and how it is set up; `None` when it has none.
pub(super) async fn url(
    aws: &Aws,
    name: &str,
    alias: &str,
) -> Result<Option<ObservedUrl>, AwsError> {
    match aws
        .lambda
        .get_function_url_config()
        .function_name(name)
        .set_qualifier(crate::provider::aws::qualifier(alias))
        .send()
        .await
    {
        Ok(u) => Ok(Some(ObservedUrl {
            url: u.function_url().to_string(),
            spec: UrlSpec {
                auth: u.auth_type().as_str().to_string(),
                // A cleared CORS may come back as an empty one: the same as none.
                cors: u.cors().map(cors_of).filter(|c| *c != CorsSpec::default()),
                invoke_mode: u
                    .invoke_mode()
                    .map_or("BUFFERED", |m| m.as_str())
                    .to_string(),
            },
        })),
        Err(e) if is_code(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(call_err(
            "GetFunctionUrlConfig",
            &format!("Lambda function {name}:{alias}"),
        )(e)),
    }
}

/// Creates the URL (`have` is none), or sets the existing one to `want`; then its grants.
/// Returns the URL.
pub(super) async fn put_url(
    aws: &Aws,
    name: &str,
    alias: &str,
    want: &UrlSpec,
    have: Option<ObservedUrl>,
) -> Result<String, AwsError> {
    let res = format!("Lambda function {name}:{alias}");
    let auth = FunctionUrlAuthType::from(want.auth.as_str());
    let mode = InvokeMode::from(want.invoke_mode.as_str());
    let want_cors = want.cors.as_ref().map(cors);
    let url = match have {
        None => aws
            .lambda
            .create_function_url_config()
            .function_name(name)
            .set_qualifier(crate::provider::aws::qualifier(alias))
            .auth_type(auth)
            .invoke_mode(mode)
            .set_cors(want_cors)
            .send()
            .await
            .map_err(call_err("CreateFunctionUrlConfig", &res))?
            .function_url()
            .to_string(),
        Some(have) => {
            if have.spec != *want {
                aws.lambda
                    .update_function_url_config()
                    .function_name(name)
                    .set_qualifier(crate::provider::aws::qualifier(alias))
                    .auth_type(auth)
                    .invoke_mode(mode)
                    // No CORS in the config: every list empty, stated, clears what is there.
                    .cors(want_cors.unwrap_or_else(|| cors(&CorsSpec::default())))
                    .send()
                    .await
                    .map_err(call_err("UpdateFunctionUrlConfig", &res))?;
            }
            have.url
        }
    };
    grant_url(aws, name, alias, want.auth == "NONE").await?;
    Ok(url)
}

/// A public URL needs both grants (`lambda:InvokeFunctionUrl`, and `lambda:InvokeFunction`
/// through the URL only); any other has neither. Safe to repeat.
pub(super) async fn grant_url(
    aws: &Aws,
    name: &str,
    alias: &str,
    public: bool,
) -> Result<(), AwsError> {
    let res = format!("Lambda function {name}:{alias}");
    for sid in [URL_STATEMENT, URL_INVOKE_STATEMENT] {
        if !public {
            crate::provider::aws::remove_statement(aws, name, alias, sid).await?;
            continue;
        }
        let call = aws
            .lambda
            .add_permission()
            .function_name(name)
            .set_qualifier(crate::provider::aws::qualifier(alias))
            .statement_id(sid)
            .principal("*");
        let call = if sid == URL_STATEMENT {
            call.action("lambda:InvokeFunctionUrl")
                .function_url_auth_type(FunctionUrlAuthType::None)
        } else {
            call.action("lambda:InvokeFunction")
                .invoked_via_function_url(true)
        };
        match crate::provider::aws::add_statement(aws, &call, name, alias, sid, &res).await {
            Ok(()) => {}
            Err(AwsError::Call { code, .. }) if code == "ResourceConflictException" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
