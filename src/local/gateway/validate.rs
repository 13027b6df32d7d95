//! REST routes' request validation, as API Gateway's request validator does it: the required
//! parameters of `request.parameters` (present and not blank), and the body against the model of
//! its content type in `request.schemas` (JSON Schema draft 4, API Gateway's dialect) — an
//! inline schema, `{schema, name, description}`, or the key of a model in
//! `provider.apiGateway.request.schemas`. No model for the request's content type (and no
//! `$default` one): the body is not validated, as on AWS.

use std::collections::HashMap;

use serde_json::Value;

use crate::config::model::{Config, Event};

/// A compiled model.
struct Model {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

/// What one route checks.
#[derive(Default)]
struct Rules {
    /// Content type (lowercase, or `$default`) → its model.
    models: Vec<(String, Model)>,
    /// `querystrings`, `headers`, `paths`: the required names.
    required: Vec<(Place, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Query,
    Header,
    Path,
}

/// The rules of every REST route that has any, by `rest METHOD /path`.
#[derive(Default)]
pub struct Validation {
    routes: HashMap<String, Rules>,
}

impl std::fmt::Debug for Validation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validation")
            .field("routes", &self.routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What a request to one route brings, for its checks.
pub struct Asked<'a> {
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    pub query: &'a HashMap<String, Vec<String>>,
    pub headers: &'a hyper::HeaderMap,
    pub path: &'a std::collections::BTreeMap<String, String>,
}

impl Validation {
    /// The rules of `config`'s REST routes; a model that does not compile is named in the
    /// second value (its route is then served unvalidated) and never stops the server.
    pub fn of(config: &Config) -> (Validation, Vec<String>) {
        let mut v = Validation::default();
        let mut problems = Vec::new();
        let global = config
            .provider
            .api_gateway
            .as_ref()
            .and_then(|g| g.request.as_ref())
            .map(|r| r["schemas"].clone())
            .unwrap_or(Value::Null);
        for (_, f) in config.functions.iter().flatten() {
            for e in f.events.iter().flatten() {
                let Event::Http(h) = e else { continue };
                let Some(request) = &h.request else { continue };
                let key = super::auth::rest_key(&h.method, &h.path);
                let mut rules = Rules::default();
                if let Some(schemas) = request["schemas"].as_object() {
                    for (content_type, model) in schemas {
                        let schema = match model {
                            // A model of `provider.apiGateway.request.schemas`, by its key.
                            Value::String(name) => match global.get(name) {
                                Some(m) => inner(m),
                                None => {
                                    problems.push(format!(
                                        "{key}: model `{name}` is not in provider.apiGateway.request.schemas; the body is not validated"
                                    ));
                                    continue;
                                }
                            },
                            m => inner(m),
                        };
                        match compile(&schema) {
                            Ok(m) => rules.models.push((content_type.to_ascii_lowercase(), m)),
                            Err(why) => problems.push(format!(
                                "{key}: the model for {content_type} is not a JSON schema ({why}); the body is not validated"
                            )),
                        }
                    }
                }
                for (section, place) in [
                    ("querystrings", Place::Query),
                    ("headers", Place::Header),
                    ("paths", Place::Path),
                ] {
                    for (name, how) in request["parameters"][section]
                        .as_object()
                        .into_iter()
                        .flatten()
                    {
                        // `name: true`, or `name: {required: true, …}`.
                        let required = how.as_bool().unwrap_or(false)
                            || how["required"].as_bool().unwrap_or(false);
                        if required {
                            rules.required.push((place, name.clone()));
                        }
                    }
                }
                if !rules.models.is_empty() || !rules.required.is_empty() {
                    v.routes.insert(key, rules);
                }
            }
        }
        (v, problems)
    }

    /// API Gateway's 400 message when the request fails its route's checks (missing parameters
    /// first, as AWS checks them first), with what failed for the console.
    pub fn check(&self, route: &str, asked: &Asked<'_>) -> Result<(), (String, String)> {
        let Some(rules) = self.routes.get(route) else {
            return Ok(());
        };
        let missing: Vec<&str> = rules
            .required
            .iter()
            .filter(|(place, name)| {
                let value = match place {
                    Place::Query => asked
                        .query
                        .get(name)
                        .and_then(|v| v.last())
                        .map(String::as_str),
                    Place::Header => asked.headers.get(name).and_then(|v| v.to_str().ok()),
                    Place::Path => asked.path.get(name).map(String::as_str),
                };
                value.is_none_or(|v| v.trim().is_empty())
            })
            .map(|(_, name)| name.as_str())
            .collect();
        if !missing.is_empty() {
            let list = format!("[{}]", missing.join(", "));
            return Err((
                format!("Missing required request parameters: {list}"),
                format!("missing required request parameters {list}"),
            ));
        }
        // API Gateway takes a request without a content type as JSON.
        let content_type = asked
            .content_type
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "application/json".into());
        let model = rules
            .models
            .iter()
            .find(|(c, _)| *c == content_type)
            .or_else(|| rules.models.iter().find(|(c, _)| c == "$default"));
        let Some((_, model)) = model else {
            return Ok(());
        };
        let invalid = |why: String| Err(("Invalid request body".to_string(), why));
        let body: Value = if asked.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(asked.body) {
                Ok(v) => v,
                Err(e) => return invalid(format!("the body is not JSON: {e}")),
            }
        };
        match model.schemas.validate(&body, model.index) {
            Ok(()) => Ok(()),
            Err(e) => invalid(format!("{e}").replace('\n', " ")),
        }
    }
}

/// The schema of a model written `{schema, name, description}`, else the model itself.
fn inner(model: &Value) -> Value {
    match model.as_object() {
        Some(m)
            if m.get("schema").is_some_and(Value::is_object)
                && m.keys()
                    .all(|k| matches!(k.as_str(), "schema" | "name" | "description")) =>
        {
            m["schema"].clone()
        }
        _ => model.clone(),
    }
}

/// A draft-4 schema (API Gateway's dialect), compiled.
fn compile(schema: &Value) -> Result<Model, String> {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.set_default_draft(boon::Draft::V4);
    let loc = "model.json";
    compiler
        .add_resource(loc, schema.clone())
        .map_err(|e| e.to_string())?;
    let index = compiler
        .compile(loc, &mut schemas)
        .map_err(|e| e.to_string())?;
    Ok(Model { schemas, index })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validation(yaml: &str) -> (Validation, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
        let loaded = crate::config::load(&crate::config::LoadOptions {
            cwd: dir.path().to_path_buf(),
            // As `offline` reads it: what only deploying refuses does not stop it.
            purpose: crate::config::Purpose::Read,
            ..Default::default()
        })
        .unwrap();
        Validation::of(&loaded.config)
    }

    const SERVICE: &str = "service: v
provider:
  name: aws
  runtime: nodejs22.x
  apiGateway:
    request:
      schemas:
        item:
          name: ItemModel
          schema: {type: object, required: [id]}
functions:
  f:
    handler: h.f
    events:
      - http:
          method: post
          path: items
          request:
            schemas:
              application/json:
                type: object
                properties:
                  name: {type: string}
                  age: {type: integer, minimum: 0}
                required: [name]
            parameters:
              querystrings:
                mode: true
                other: false
              headers:
                x-tenant: {required: true}
      - http:
          method: put
          path: items
          request:
            schemas:
              application/json: item
      - http:
          method: patch
          path: items
          request:
            schemas:
              application/json: nothing-of-that-name
";

    fn ask<'a>(
        body: &'a str,
        content_type: Option<&'a str>,
        query: &'a HashMap<String, Vec<String>>,
        headers: &'a hyper::HeaderMap,
        path: &'a std::collections::BTreeMap<String, String>,
    ) -> Asked<'a> {
        Asked {
            content_type,
            body: body.as_bytes(),
            query,
            headers,
            path,
        }
    }

    #[test]
    fn bodies_are_checked_against_the_model_of_their_content_type_and_parameters_for_presence() {
        let (v, problems) = validation(SERVICE);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("nothing-of-that-name"), "{problems:?}");
        let mut query = HashMap::new();
        query.insert("mode".to_string(), vec!["fast".to_string()]);
        let mut headers = hyper::HeaderMap::new();
        headers.insert("x-tenant", "t1".parse().unwrap());
        let path = Default::default();
        let post = "rest POST /items";
        let ok = ask(r#"{"name":"a","age":3}"#, None, &query, &headers, &path);
        assert!(v.check(post, &ok).is_ok());
        let bad = ask(
            r#"{"age":-1}"#,
            Some("application/json; charset=utf-8"),
            &query,
            &headers,
            &path,
        );
        let (message, why) = v.check(post, &bad).unwrap_err();
        assert_eq!(message, "Invalid request body");
        assert!(why.contains("name") || why.contains("minimum"), "{why}");
        let not_json = ask("{", None, &query, &headers, &path);
        assert_eq!(
            v.check(post, &not_json).unwrap_err().0,
            "Invalid request body"
        );
        // No model for that content type: not validated, as on AWS.
        let text = ask("anything", Some("text/plain"), &query, &headers, &path);
        assert!(v.check(post, &text).is_ok());
        // Required parameters: present and not blank, checked first.
        let empty = HashMap::new();
        let none = hyper::HeaderMap::new();
        let missing = ask(r#"{"age":-1}"#, None, &empty, &none, &path);
        assert_eq!(
            v.check(post, &missing).unwrap_err().0,
            "Missing required request parameters: [mode, x-tenant]"
        );
        // A model of provider.apiGateway.request.schemas, named by its key.
        let put = "rest PUT /items";
        assert!(
            v.check(put, &ask(r#"{"id":1}"#, None, &empty, &none, &path))
                .is_ok()
        );
        assert!(
            v.check(put, &ask("{}", None, &empty, &none, &path))
                .is_err()
        );
        assert!(
            v.check("rest GET /other", &ask("{", None, &empty, &none, &path))
                .is_ok()
        );
    }
}
