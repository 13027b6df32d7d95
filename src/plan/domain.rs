//! A custom domain for one of the service's APIs, as serverless-domain-manager makes it
//! (`custom.customDomain`): the API Gateway domain name (with the ACM certificate, endpoint type
//! and TLS policy), the mapping of a base path to the API's stage, and Route 53 alias records
//! (A, and AAAA) pointing the name at the domain's target.
//!
//! The domain sls creates carries its tags; a domain that exists without them (made by the
//! plugin's `create_domain`, or by hand) is used, not changed: only the mapping is managed, as
//! the plugin's `deploy` does. A record is ours to delete only when it still aliases our
//! domain's target. A domain of ours is deleted only once no mapping of another API remains
//! (the plugin's `preserveExternalPathMappings`). AWS side: `provider::aws::domain`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Change, Desired, Observed, Phase, Plan};
use crate::config::Config;

/// Where the records of the domains a service and stage made are: `{root}domains/{name}`.
pub fn record_prefix(service: &str, stage: &str) -> String {
    format!("{}domains/", super::record_root(service, stage))
}

/// Which API the domain serves; REST domains go through API Gateway's v1 API (EDGE needs it),
/// HTTP and WebSocket ones through v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainApi {
    Rest,
    Http,
    Websocket,
}

impl DomainApi {
    pub fn v2(self) -> bool {
        match self {
            DomainApi::Rest => false,
            DomainApi::Http | DomainApi::Websocket => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainSpec {
    pub name: String,
    pub api: DomainApi,
    pub regional: bool,
    /// `certificateArn`, else the certificate named `certificateName`, else the closest match.
    pub certificate_arn: Option<String>,
    pub certificate_name: Option<String>,
    pub security_policy: String,
    /// The mapping's key: empty for the domain's root.
    pub base_path: String,
    /// The API stage the mapping serves.
    pub stage: String,
    /// Route 53 alias records, when `createRoute53Record`.
    pub records: Option<RecordsSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordsSpec {
    /// `hostedZoneId`; else the zone whose name is the longest suffix of the domain.
    pub zone_id: Option<String>,
    /// `hostedZonePrivate`: only private (true) or only public (false) zones.
    pub private: Option<bool>,
    /// An AAAA record besides the A record (`createRoute53IPv6Record`).
    pub ipv6: bool,
}

/// Where a domain sends its traffic: the name and hosted zone its alias records name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub dns_name: String,
    pub zone_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedDomainMapping {
    pub id: String,
    /// Empty for the root.
    pub key: String,
    pub api_id: String,
    pub stage: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRecord {
    /// `A` or `AAAA`.
    pub kind: String,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedDomain {
    pub name: String,
    /// Read through API Gateway's v2 API.
    pub v2: bool,
    /// Carries this service's and stage's tags.
    pub owned: bool,
    pub regional: bool,
    pub certificate_arn: String,
    pub security_policy: String,
    pub target: Target,
    pub mappings: Vec<ObservedDomainMapping>,
    /// The zone its records are looked for in, and the A/AAAA records at its name there.
    pub zone_id: Option<String>,
    pub records: Vec<ObservedRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum DomainStep {
    #[serde(rename_all = "camelCase")]
    CreateDomainName {
        domain: String,
        api: DomainApi,
        certificate_arn: String,
    },
    #[serde(rename_all = "camelCase")]
    UpdateDomainName {
        domain: String,
        v2: bool,
        changes: Vec<Change>,
    },
    #[serde(rename_all = "camelCase")]
    CreateApiMapping {
        domain: String,
        api: DomainApi,
        base_path: String,
        stage: String,
    },
    /// Points an existing mapping at our API's current id and stage.
    #[serde(rename_all = "camelCase")]
    UpdateApiMapping {
        domain: String,
        api: DomainApi,
        mapping_id: String,
        base_path: String,
        stage: String,
    },
    #[serde(rename_all = "camelCase")]
    DeleteApiMapping {
        domain: String,
        v2: bool,
        mapping_id: String,
        base_path: String,
    },
    /// A (and AAAA) alias records of the name to the domain's target, made or corrected.
    #[serde(rename_all = "camelCase")]
    UpsertAliasRecords {
        domain: String,
        zone_id: String,
        kinds: Vec<String>,
    },
    #[serde(rename_all = "camelCase")]
    DeleteAliasRecords {
        domain: String,
        zone_id: String,
        kinds: Vec<String>,
        target: Target,
    },
    #[serde(rename_all = "camelCase")]
    DeleteDomainName { domain: String, v2: bool },
    /// Deletes the record of a domain that is gone already.
    #[serde(rename_all = "camelCase")]
    ForgetDomain { domain: String },
}

impl DomainStep {
    pub fn domain(&self) -> &str {
        match self {
            DomainStep::CreateDomainName { domain, .. }
            | DomainStep::UpdateDomainName { domain, .. }
            | DomainStep::CreateApiMapping { domain, .. }
            | DomainStep::UpdateApiMapping { domain, .. }
            | DomainStep::DeleteApiMapping { domain, .. }
            | DomainStep::UpsertAliasRecords { domain, .. }
            | DomainStep::DeleteAliasRecords { domain, .. }
            | DomainStep::DeleteDomainName { domain, .. }
            | DomainStep::ForgetDomain { domain } => domain,
        }
    }
}

impl super::KindStep for DomainStep {
    fn phase(&self) -> Phase {
        match self {
            DomainStep::CreateDomainName { .. }
            | DomainStep::UpdateDomainName { .. }
            | DomainStep::CreateApiMapping { .. }
            | DomainStep::UpdateApiMapping { .. }
            | DomainStep::UpsertAliasRecords { .. } => Phase::Domains,
            DomainStep::DeleteApiMapping { .. }
            | DomainStep::DeleteAliasRecords { .. }
            | DomainStep::DeleteDomainName { .. }
            | DomainStep::ForgetDomain { .. } => Phase::DeleteDomains,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            DomainStep::DeleteDomainName { domain, .. } => Some(format!("custom domain {domain}")),
            DomainStep::DeleteAliasRecords { domain, kinds, .. } => {
                Some(format!("{} record(s) of {domain}", kinds.join("/")))
            }
            DomainStep::CreateDomainName { .. }
            | DomainStep::UpdateDomainName { .. }
            | DomainStep::CreateApiMapping { .. }
            | DomainStep::UpdateApiMapping { .. }
            | DomainStep::DeleteApiMapping { .. }
            | DomainStep::UpsertAliasRecords { .. }
            | DomainStep::ForgetDomain { .. } => None,
        }
    }

    fn lane(&self) -> String {
        format!("domain {}", self.domain())
    }
}

fn shown(base_path: &str) -> &str {
    if base_path.is_empty() {
        "(root)"
    } else {
        base_path
    }
}

impl fmt::Display for DomainStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainStep::CreateDomainName {
                domain,
                certificate_arn,
                ..
            } => write!(
                f,
                "+ custom domain {domain} (certificate {certificate_arn})"
            ),
            DomainStep::UpdateDomainName {
                domain, changes, ..
            } => {
                let c: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{} {} → {}", c.field, c.from, c.to))
                    .collect();
                write!(f, "~ custom domain {domain}: {}", c.join(", "))
            }
            DomainStep::CreateApiMapping {
                domain,
                api,
                base_path,
                stage,
            } => write!(
                f,
                "+ mapping {domain}/{} → {} API, stage {stage}",
                shown(base_path),
                serde_json::to_value(api)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            DomainStep::UpdateApiMapping {
                domain,
                base_path,
                stage,
                ..
            } => write!(
                f,
                "~ mapping {domain}/{} → this service's API, stage {stage}",
                shown(base_path)
            ),
            DomainStep::DeleteApiMapping {
                domain, base_path, ..
            } => write!(f, "- mapping {domain}/{}", shown(base_path)),
            DomainStep::UpsertAliasRecords { domain, kinds, .. } => {
                write!(
                    f,
                    "+ {} alias record(s) {domain} → the domain",
                    kinds.join("/")
                )
            }
            DomainStep::DeleteAliasRecords { domain, kinds, .. } => {
                write!(f, "- {} alias record(s) {domain}", kinds.join("/"))
            }
            DomainStep::DeleteDomainName { domain, .. } => write!(f, "- custom domain {domain}"),
            DomainStep::ForgetDomain { domain } => {
                write!(f, "- the record of custom domain {domain} (gone already)")
            }
        }
    }
}

/// The API id a mapping should name: our API of the domain's kind, as observed (None: made
/// by this run).
fn our_api(o: &Observed, api: DomainApi) -> Option<String> {
    match api {
        DomainApi::Rest => o.rest_api.as_ref().map(|a| a.id.clone()),
        DomainApi::Http => o.http_api.as_ref().map(|a| a.id.clone()),
        DomainApi::Websocket => o.websocket.as_ref().map(|a| a.id.clone()),
    }
}

/// Every API id of ours that a mapping may name.
fn our_apis(o: &Observed) -> Vec<String> {
    [DomainApi::Rest, DomainApi::Http, DomainApi::Websocket]
        .into_iter()
        .filter_map(|a| our_api(o, a))
        .collect()
}

fn record_kinds(ipv6: bool) -> Vec<String> {
    let mut k = vec!["A".to_string()];
    if ipv6 {
        k.push("AAAA".into());
    }
    k
}

/// The domain of the config, when its API is wanted: a domain serves its API, so a removal
/// (which wants no API) wants no domain, though it reads the one the config names.
pub fn wanted(d: &Desired) -> Option<&DomainSpec> {
    d.domain.as_ref().filter(|w| match w.api {
        DomainApi::Rest => d.rest_api.is_some(),
        DomainApi::Http => d.http_api.is_some(),
        DomainApi::Websocket => d.websocket.is_some(),
    })
}

/// The domain of the config (with its certificate, as the observation resolved it), and the
/// domains of ours it no longer names.
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    if d.alias != d.live {
        return;
    }
    let wanted = wanted(d);
    let ours = our_apis(o);
    // Records of domains that are gone (a run stopped between deleting one and its record).
    for name in &o.domain_records {
        if !o.domains.iter().any(|h| &h.name == name) && wanted.is_none_or(|w| &w.name != name) {
            p.push(DomainStep::ForgetDomain {
                domain: name.clone(),
            });
        }
    }
    for have in &o.domains {
        if wanted.is_some_and(|w| w.name == have.name) {
            continue;
        }
        forget(have, &ours, p);
    }
    let Some(spec) = wanted else {
        return;
    };
    let have = o.domains.iter().find(|h| h.name == spec.name);
    let certificate = o.certificate.clone().unwrap_or_default();
    match have {
        None => p.push(DomainStep::CreateDomainName {
            domain: spec.name.clone(),
            api: spec.api,
            certificate_arn: certificate.clone(),
        }),
        Some(h) if h.owned => {
            let mut changes = Vec::new();
            if !certificate.is_empty() && h.certificate_arn != certificate {
                changes.push(Change {
                    field: "certificate".into(),
                    from: h.certificate_arn.clone(),
                    to: certificate.clone(),
                });
            }
            if h.security_policy != spec.security_policy {
                changes.push(Change {
                    field: "securityPolicy".into(),
                    from: h.security_policy.clone(),
                    to: spec.security_policy.clone(),
                });
            }
            if h.regional != spec.regional {
                changes.push(Change {
                    field: "endpointType".into(),
                    from: endpoint(h.regional).into(),
                    to: endpoint(spec.regional).into(),
                });
            }
            if !changes.is_empty() {
                p.push(DomainStep::UpdateDomainName {
                    domain: spec.name.clone(),
                    v2: h.v2,
                    changes,
                });
            }
        }
        // Someone else's domain (the plugin's `create_domain`): used as it is.
        Some(_) => {}
    }
    let api_id = our_api(o, spec.api);
    let mappings = have.map(|h| h.mappings.as_slice()).unwrap_or_default();
    let at_key = mappings.iter().find(|m| m.key == spec.base_path);
    match at_key {
        None => p.push(DomainStep::CreateApiMapping {
            domain: spec.name.clone(),
            api: spec.api,
            base_path: spec.base_path.clone(),
            stage: spec.stage.clone(),
        }),
        Some(m) if api_id.as_deref() == Some(m.api_id.as_str()) && m.stage == spec.stage => {}
        Some(m) => p.push(DomainStep::UpdateApiMapping {
            domain: spec.name.clone(),
            api: spec.api,
            mapping_id: m.id.clone(),
            base_path: spec.base_path.clone(),
            stage: spec.stage.clone(),
        }),
    }
    // Our mappings under another base path: the path changed.
    for m in mappings
        .iter()
        .filter(|m| m.key != spec.base_path && ours.contains(&m.api_id))
    {
        p.push(DomainStep::DeleteApiMapping {
            domain: spec.name.clone(),
            v2: have.is_some_and(|h| h.v2),
            mapping_id: m.id.clone(),
            base_path: m.key.clone(),
        });
    }
    if let (Some(r), true) = (&spec.records, have.is_none_or(|h| h.owned)) {
        let zone = r.zone_id.clone().or_else(|| o.domain_zone.clone());
        let Some(zone) = zone else { return };
        let kinds = record_kinds(r.ipv6);
        let current = have.is_some_and(|h| {
            kinds.iter().all(|k| {
                h.records
                    .iter()
                    .any(|rec| &rec.kind == k && rec.target == h.target)
            })
        });
        if !current {
            p.push(DomainStep::UpsertAliasRecords {
                domain: spec.name.clone(),
                zone_id: zone.clone(),
                kinds: kinds.clone(),
            });
        }
        // An AAAA record of ours no longer wanted.
        if let Some(h) = have.filter(|_| !r.ipv6) {
            let stale: Vec<String> = h
                .records
                .iter()
                .filter(|rec| rec.kind == "AAAA" && rec.target == h.target)
                .map(|rec| rec.kind.clone())
                .collect();
            if !stale.is_empty() {
                p.push(DomainStep::DeleteAliasRecords {
                    domain: spec.name.clone(),
                    zone_id: zone,
                    kinds: stale,
                    target: h.target.clone(),
                });
            }
        }
    } else if let Some(h) = have.filter(|h| h.owned && spec.records.is_none()) {
        delete_records(h, p);
    }
}

fn endpoint(regional: bool) -> &'static str {
    if regional { "REGIONAL" } else { "EDGE" }
}

/// Our records of a domain: those that alias its target.
fn delete_records(h: &ObservedDomain, p: &mut Plan) {
    let kinds: Vec<String> = h
        .records
        .iter()
        .filter(|r| r.target == h.target)
        .map(|r| r.kind.clone())
        .collect();
    if let (Some(zone), false) = (&h.zone_id, kinds.is_empty()) {
        p.push(DomainStep::DeleteAliasRecords {
            domain: h.name.clone(),
            zone_id: zone.clone(),
            kinds,
            target: h.target.clone(),
        });
    }
}

/// A domain the config no longer names: our mappings go; if it is ours, its records, and the
/// domain itself once no other API is mapped on it.
fn forget(h: &ObservedDomain, ours: &[String], p: &mut Plan) {
    for m in h.mappings.iter().filter(|m| ours.contains(&m.api_id)) {
        p.push(DomainStep::DeleteApiMapping {
            domain: h.name.clone(),
            v2: h.v2,
            mapping_id: m.id.clone(),
            base_path: m.key.clone(),
        });
    }
    if !h.owned {
        return;
    }
    delete_records(h, p);
    if h.mappings.iter().all(|m| ours.contains(&m.api_id)) {
        p.push(DomainStep::DeleteDomainName {
            domain: h.name.clone(),
            v2: h.v2,
        });
    } else {
        p.leave_alone(format!(
            "custom domain {} (other APIs are mapped on it)",
            h.name
        ));
    }
}

/// `custom.customDomain` (validated: its values are known to be among the accepted ones).
pub(super) fn desired(
    config: &Config,
    stage: &str,
    rest: Option<&super::RestApiSpec>,
    websocket: Option<&super::WebsocketSpec>,
) -> Option<super::DomainSpec> {
    use super::domain::{DomainApi, RecordsSpec};
    use crate::config::model::{CustomDomain, flag};
    let c = CustomDomain::of(config.custom.as_ref())?;
    let api = match c
        .api_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("http") => DomainApi::Http,
        Some("websocket") => DomainApi::Websocket,
        _ => DomainApi::Rest,
    };
    let stage = match api {
        DomainApi::Rest => rest.map_or_else(|| stage.to_string(), |r| r.stage.clone()),
        DomainApi::Http => "$default".to_string(),
        DomainApi::Websocket => websocket.map_or_else(|| stage.to_string(), |w| w.stage.clone()),
    };
    Some(super::DomainSpec {
        name: c.domain_name.clone()?.to_ascii_lowercase(),
        api,
        regional: c
            .endpoint_type
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("regional")),
        certificate_arn: c.certificate_arn.clone(),
        certificate_name: c.certificate_name.clone(),
        security_policy: c
            .security_policy
            .clone()
            .unwrap_or_else(|| "TLS_1_2".into()),
        base_path: c
            .base_path
            .clone()
            .filter(|b| b != "(none)")
            .unwrap_or_default(),
        stage,
        records: flag(c.create_route53_record.as_ref(), true).then(|| RecordsSpec {
            zone_id: c.hosted_zone_id.clone(),
            private: c.hosted_zone_private.as_ref().map(|v| flag(Some(v), false)),
            ipv6: flag(c.create_route53_ipv6_record.as_ref(), true),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Step, tests::desired};

    fn spec() -> DomainSpec {
        DomainSpec {
            name: "api.example.com".into(),
            api: DomainApi::Http,
            regional: true,
            certificate_arn: None,
            certificate_name: None,
            security_policy: "TLS_1_2".into(),
            base_path: "v1".into(),
            stage: "$default".into(),
            records: Some(RecordsSpec {
                zone_id: None,
                private: None,
                ipv6: true,
            }),
        }
    }

    fn target() -> Target {
        Target {
            dns_name: "d-abc.execute-api.eu-west-1.amazonaws.com".into(),
            zone_id: "ZREGIONAL".into(),
        }
    }

    /// The domain of `spec()` as a deploy leaves it, mapped to our HTTP API (id `h1`).
    fn converged(d: &Desired) -> Observed {
        let mut o = crate::plan::tests::deployed(d);
        o.http_api.as_mut().unwrap().id = "h1".into();
        o.certificate = Some("arn:cert".into());
        o.domain_zone = Some("Z1".into());
        o.domains = vec![ObservedDomain {
            name: "api.example.com".into(),
            v2: true,
            owned: true,
            regional: true,
            certificate_arn: "arn:cert".into(),
            security_policy: "TLS_1_2".into(),
            target: target(),
            mappings: vec![ObservedDomainMapping {
                id: "m1".into(),
                key: "v1".into(),
                api_id: "h1".into(),
                stage: "$default".into(),
            }],
            zone_id: Some("Z1".into()),
            records: ["A", "AAAA"]
                .iter()
                .map(|k| ObservedRecord {
                    kind: k.to_string(),
                    target: target(),
                })
                .collect(),
        }];
        o
    }

    fn steps(d: &Desired, o: &Observed) -> Vec<DomainStep> {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p.steps
            .into_iter()
            .map(|s| match s {
                Step::Domain(s) => s,
                other => panic!("not a domain step: {other:?}"),
            })
            .collect()
    }

    fn wanting() -> Desired {
        let mut d = desired();
        d.domain = Some(spec());
        d
    }

    #[test]
    fn the_record_of_a_domain_that_is_gone_is_forgotten() {
        let d = wanting();
        let mut o = converged(&d);
        o.domain_records = vec!["api.example.com".into(), "old.example.com".into()];
        assert_eq!(
            steps(&d, &o),
            vec![DomainStep::ForgetDomain {
                domain: "old.example.com".into()
            }]
        );
    }

    #[test]
    fn a_converged_domain_plans_nothing() {
        let d = wanting();
        assert_eq!(steps(&d, &converged(&d)), vec![]);
    }

    #[test]
    fn a_new_domain_is_made_mapped_and_pointed_at() {
        let d = wanting();
        let mut o = converged(&d);
        o.domains.clear();
        assert_eq!(
            steps(&d, &o),
            vec![
                DomainStep::CreateDomainName {
                    domain: "api.example.com".into(),
                    api: DomainApi::Http,
                    certificate_arn: "arn:cert".into()
                },
                DomainStep::CreateApiMapping {
                    domain: "api.example.com".into(),
                    api: DomainApi::Http,
                    base_path: "v1".into(),
                    stage: "$default".into()
                },
                DomainStep::UpsertAliasRecords {
                    domain: "api.example.com".into(),
                    zone_id: "Z1".into(),
                    kinds: vec!["A".into(), "AAAA".into()]
                },
            ]
        );
    }

    #[test]
    fn someone_elses_domain_gets_our_mapping_and_nothing_else() {
        let d = wanting();
        let mut o = converged(&d);
        o.domains[0].owned = false;
        o.domains[0].mappings.clear();
        o.domains[0].records.clear();
        o.domains[0].certificate_arn = "arn:theirs".into();
        assert_eq!(
            steps(&d, &o),
            vec![DomainStep::CreateApiMapping {
                domain: "api.example.com".into(),
                api: DomainApi::Http,
                base_path: "v1".into(),
                stage: "$default".into()
            }]
        );
        // Taken out of the config: only our mapping goes.
        let mut o = converged(&d);
        o.domains[0].owned = false;
        let s = steps(&desired(), &o);
        assert_eq!(
            s,
            vec![DomainStep::DeleteApiMapping {
                domain: "api.example.com".into(),
                v2: true,
                mapping_id: "m1".into(),
                base_path: "v1".into()
            }]
        );
    }

    #[test]
    fn a_new_base_path_and_certificate_move_the_mapping_and_update_the_domain() {
        let mut d = wanting();
        d.domain.as_mut().unwrap().base_path = String::new();
        let mut o = converged(&d);
        o.certificate = Some("arn:new".into());
        let s = steps(&d, &o);
        assert!(
            matches!(&s[0], DomainStep::UpdateDomainName { changes, .. } if changes[0].field == "certificate")
        );
        assert!(s.contains(&DomainStep::CreateApiMapping {
            domain: "api.example.com".into(),
            api: DomainApi::Http,
            base_path: String::new(),
            stage: "$default".into()
        }));
        assert!(s.contains(&DomainStep::DeleteApiMapping {
            domain: "api.example.com".into(),
            v2: true,
            mapping_id: "m1".into(),
            base_path: "v1".into()
        }));
    }

    #[test]
    fn our_domain_goes_with_its_records_unless_another_api_is_mapped_on_it() {
        let d = wanting();
        let o = converged(&d);
        let removal = d.nothing();
        let s = steps(&removal, &o);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(
            matches!(s[1], DomainStep::DeleteAliasRecords { ref kinds, .. } if kinds.len() == 2)
        );
        assert_eq!(
            s[2],
            DomainStep::DeleteDomainName {
                domain: "api.example.com".into(),
                v2: true
            }
        );
        let mut o = converged(&d);
        o.domains[0].mappings.push(ObservedDomainMapping {
            id: "m2".into(),
            key: "other".into(),
            api_id: "someone-else".into(),
            stage: "prod".into(),
        });
        let mut p = Plan::default();
        plan(&removal, &o, &mut p);
        assert!(
            !p.steps
                .iter()
                .any(|s| matches!(s, Step::Domain(DomainStep::DeleteDomainName { .. })))
        );
        assert_eq!(p.left_alone.len(), 1);
        // A record pointing elsewhere is not ours.
        let mut o = converged(&d);
        o.domains[0].records[1].target.dns_name = "elsewhere.example.net".into();
        let s = steps(&removal, &o);
        assert!(s.iter().any(|s| matches!(s, DomainStep::DeleteAliasRecords { kinds, .. } if kinds == &["A".to_string()])));
    }
}
