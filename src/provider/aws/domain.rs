//! The custom domain: read (the domain the config names and those our records name, by name
//! through API Gateway's v1 or v2 API with their tags and mappings; the certificate in ACM; the
//! hosted zone and records in Route 53) and changed step by step. Planning and ownership:
//! `plan::domain`.

use std::collections::HashMap;

use super::context::Applying;
use super::{Aws, AwsError, call_err, is_code, owned};
use crate::plan::Desired;
use crate::plan::domain::{
    DomainApi, DomainSpec, DomainStep, ObservedDomain, ObservedDomainMapping, ObservedRecord,
    Target,
};

/// CloudFront's hosted zone: every edge-optimized domain's alias target is in it.
const CLOUDFRONT_ZONE: &str = "Z2FDTNDATAQYW2";

/// What the deploy reads for the custom domain.
pub struct Read {
    pub domains: Vec<ObservedDomain>,
    pub certificate: Option<String>,
    pub zone: Option<String>,
    /// The domains our records name.
    pub recorded: Vec<String>,
}

/// The record of a domain sls made: which API Gateway API it was made through.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DomainRecord {
    pub v2: bool,
}

fn other(e: impl std::fmt::Display) -> AwsError {
    AwsError::Other(e.to_string())
}

/// The domain the config names and those our records name, with their mappings and (when
/// ours) records; the wanted domain's certificate and hosted zone when it needs them.
pub async fn observe(
    aws: &Aws,
    d: &Desired,
    all: &super::records::Records,
) -> Result<Read, AwsError> {
    // The domain the config names (read even by a removal) and those our records name.
    let wanted = d.domain.as_ref();
    let recorded = recorded(d, all);
    let mut names = recorded.clone();
    if let Some(w) = wanted
        && !names.iter().any(|(n, _)| *n == w.name)
    {
        names.push((w.name.clone(), w.api.v2()));
    }
    let mut domains: Vec<ObservedDomain> = Vec::new();
    for (name, v2) in &names {
        domains.extend(get(aws, d, name, *v2).await?);
    }
    for h in &mut domains {
        h.mappings = mappings(aws, &h.name, h.v2).await?;
        let spec = wanted.filter(|w| w.name == h.name);
        if !h.owned {
            continue;
        }
        let zone = match spec.and_then(|s| s.records.as_ref()) {
            Some(r) => match &r.zone_id {
                Some(z) => Some(z.clone()),
                None => zone_of(aws, &h.name, r.private).await?,
            },
            None => zone_of(aws, &h.name, None).await?,
        };
        if let Some(z) = &zone {
            h.records = records(aws, z, &h.name).await?;
        }
        h.zone_id = zone;
    }
    let mut read = Read {
        domains,
        certificate: None,
        zone: None,
        recorded: recorded.into_iter().map(|(n, _)| n).collect(),
    };
    let Some(spec) = crate::plan::domain::wanted(d) else {
        return Ok(read);
    };
    let have = read.domains.iter().find(|h| h.name == spec.name);
    // A domain someone else made is used as it is: no certificate or records are ours to set.
    if have.is_none_or(|h| h.owned) {
        read.certificate = Some(certificate(aws, spec).await?);
        if let Some(r) = &spec.records {
            read.zone = match (&r.zone_id, have.and_then(|h| h.zone_id.clone())) {
                (Some(z), _) => Some(z.clone()),
                (None, Some(z)) => Some(z),
                (None, None) => zone_of(aws, &spec.name, r.private).await?,
            };
            if read.zone.is_none() {
                return Err(AwsError::Other(format!(
                    "no Route 53 hosted zone holds {}: create one, set `customDomain.hostedZoneId`, or `createRoute53Record: false`",
                    spec.name
                )));
            }
        }
    }
    Ok(read)
}

/// The domain of this name, read through API Gateway's v2 API (`v2`) or v1, if it exists.
async fn get(
    aws: &Aws,
    d: &Desired,
    name: &str,
    v2: bool,
) -> Result<Option<ObservedDomain>, AwsError> {
    let res = format!("custom domain {name}");
    let tags_ours = |t: Option<&HashMap<String, String>>| {
        let tags: std::collections::BTreeMap<String, String> = t
            .map(|t| t.clone().into_iter().collect())
            .unwrap_or_default();
        owned(&tags, d)
    };
    if v2 {
        let g = match aws.apigw2.get_domain_name().domain_name(name).send().await {
            Ok(g) => g,
            Err(e) if is_code(&e, super::NOT_FOUND) => return Ok(None),
            Err(e) => return Err(call_err("GetDomainName", &res)(e)),
        };
        let c = g.domain_name_configurations().first();
        return Ok(Some(ObservedDomain {
            name: name.to_string(),
            v2: true,
            owned: tags_ours(g.tags()),
            regional: true,
            certificate_arn: c
                .and_then(|c| c.certificate_arn())
                .unwrap_or_default()
                .to_string(),
            security_policy: c
                .and_then(|c| c.security_policy())
                .map_or("TLS_1_2".into(), |p| p.as_str().to_string()),
            target: normal(Target {
                dns_name: c
                    .and_then(|c| c.api_gateway_domain_name())
                    .unwrap_or_default()
                    .to_string(),
                zone_id: c
                    .and_then(|c| c.hosted_zone_id())
                    .unwrap_or_default()
                    .to_string(),
            }),
            mappings: Vec::new(),
            zone_id: None,
            records: Vec::new(),
        }));
    }
    let g = match aws.apigw.get_domain_name().domain_name(name).send().await {
        Ok(g) => g,
        Err(e) if is_code(&e, super::NOT_FOUND) => return Ok(None),
        Err(e) => return Err(call_err("GetDomainName", &res)(e)),
    };
    let regional = g.endpoint_configuration().is_some_and(|e| {
        e.types()
            .iter()
            .any(|t| t.as_str().eq_ignore_ascii_case("regional"))
    });
    let target = match regional {
        true => Target {
            dns_name: g.regional_domain_name().unwrap_or_default().to_string(),
            zone_id: g.regional_hosted_zone_id().unwrap_or_default().to_string(),
        },
        false => Target {
            dns_name: g.distribution_domain_name().unwrap_or_default().to_string(),
            zone_id: g
                .distribution_hosted_zone_id()
                .unwrap_or(CLOUDFRONT_ZONE)
                .to_string(),
        },
    };
    Ok(Some(ObservedDomain {
        name: name.to_string(),
        v2: false,
        owned: tags_ours(g.tags()),
        regional,
        certificate_arn: g
            .certificate_arn()
            .or(g.regional_certificate_arn())
            .unwrap_or_default()
            .to_string(),
        security_policy: g
            .security_policy()
            .map_or("TLS_1_2".into(), |p| p.as_str().to_string()),
        target: normal(target),
        mappings: Vec::new(),
        zone_id: None,
        records: Vec::new(),
    }))
}

/// The domains this service and stage made, by their records: name → read through v2.
fn recorded(d: &Desired, all: &super::records::Records) -> Vec<(String, bool)> {
    let prefix = crate::plan::domain::record_prefix(&d.service, &d.stage);
    super::records::under(all, &prefix)
        .into_iter()
        .map(|(name, value)| {
            let v2 = serde_json::from_str::<DomainRecord>(value).is_ok_and(|r| r.v2);
            (name.to_string(), v2)
        })
        .collect()
}

/// Route 53 writes names with a final dot and in lower case; so are they compared.
fn normal(t: Target) -> Target {
    Target {
        dns_name: t.dns_name.trim_end_matches('.').to_ascii_lowercase(),
        zone_id: t.zone_id,
    }
}

async fn mappings(
    aws: &Aws,
    domain: &str,
    v2: bool,
) -> Result<Vec<ObservedDomainMapping>, AwsError> {
    let res = format!("custom domain {domain}");
    if v2 {
        let items = super::all_pages(|token| {
            let call = aws
                .apigw2
                .get_api_mappings()
                .domain_name(domain)
                .set_next_token(token);
            let res = res.clone();
            async move {
                let page = call
                    .send()
                    .await
                    .map_err(call_err("GetApiMappings", &res))?;
                let next = page.next_token().map(str::to_string);
                Ok((page.items.unwrap_or_default(), next))
            }
        })
        .await?;
        return Ok(items
            .into_iter()
            .map(|m| ObservedDomainMapping {
                id: m.api_mapping_id().unwrap_or_default().to_string(),
                key: m.api_mapping_key().unwrap_or_default().to_string(),
                api_id: m.api_id().unwrap_or_default().to_string(),
                stage: m.stage().unwrap_or_default().to_string(),
            })
            .collect());
    }
    let items = super::all_pages(|position| {
        let call = aws
            .apigw
            .get_base_path_mappings()
            .domain_name(domain)
            .limit(500)
            .set_position(position);
        let res = res.clone();
        async move {
            let page = match call.send().await {
                Ok(p) => p,
                Err(e) if is_code(&e, super::NOT_FOUND) => return Ok((Vec::new(), None)),
                Err(e) => return Err(call_err("GetBasePathMappings", &res)(e)),
            };
            let next = page.position().map(str::to_string);
            Ok((page.items.unwrap_or_default(), next))
        }
    })
    .await?;
    Ok(items
        .into_iter()
        .map(|m| {
            // v1 writes the root `(none)`.
            let key = m
                .base_path()
                .filter(|b| *b != "(none)")
                .unwrap_or_default()
                .to_string();
            ObservedDomainMapping {
                id: key.clone(),
                key,
                api_id: m.rest_api_id().unwrap_or_default().to_string(),
                stage: m.stage().unwrap_or_default().to_string(),
            }
        })
        .collect())
}

/// The zone whose name is the longest suffix of the domain (`private`: only private or only
/// public zones).
async fn zone_of(
    aws: &Aws,
    domain: &str,
    private: Option<bool>,
) -> Result<Option<String>, AwsError> {
    let zones = super::all_pages(|marker| {
        let call = aws.route53.list_hosted_zones().set_marker(marker);
        async move {
            let page = call
                .send()
                .await
                .map_err(call_err("ListHostedZones", "Route 53 hosted zones"))?;
            let next = page
                .is_truncated()
                .then(|| page.next_marker().map(str::to_string))
                .flatten();
            Ok((page.hosted_zones, next))
        }
    })
    .await?;
    let best = zones
        .iter()
        .filter(|z| {
            private.is_none_or(|p| z.config().map(|c| c.private_zone()).unwrap_or(false) == p)
        })
        .filter_map(|z| {
            let name = z.name().trim_end_matches('.').to_ascii_lowercase();
            (domain == name || domain.ends_with(&format!(".{name}"))).then_some((name.len(), z))
        })
        .max_by_key(|(len, _)| *len);
    Ok(best.map(|(_, z)| z.id().trim_start_matches("/hostedzone/").to_string()))
}

/// The A and AAAA alias records at exactly the domain's name.
async fn records(aws: &Aws, zone: &str, domain: &str) -> Result<Vec<ObservedRecord>, AwsError> {
    use aws_sdk_route53::types::RrType;
    let page = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(domain)
        .start_record_type(RrType::A)
        .max_items(4)
        .send()
        .await
        .map_err(call_err(
            "ListResourceRecordSets",
            &format!("hosted zone {zone}"),
        ))?;
    Ok(page
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().trim_end_matches('.').eq_ignore_ascii_case(domain))
        .filter(|r| matches!(r.r#type(), RrType::A | RrType::Aaaa))
        .filter_map(|r| {
            let a = r.alias_target()?;
            Some(ObservedRecord {
                kind: r.r#type().as_str().to_string(),
                target: normal(Target {
                    dns_name: a.dns_name().to_string(),
                    zone_id: a.hosted_zone_id().to_string(),
                }),
            })
        })
        .collect())
}

/// The certificate's ARN: given, named, or the closest match for the domain (an exact name
/// before a wildcard one level up), among the issued certificates of the region API Gateway
/// reads it from (us-east-1 for edge-optimized domains).
async fn certificate(aws: &Aws, spec: &DomainSpec) -> Result<String, AwsError> {
    if let Some(arn) = &spec.certificate_arn {
        return Ok(arn.clone());
    }
    let region = if spec.regional {
        aws.region.clone()
    } else {
        "us-east-1".to_string()
    };
    let summaries = super::all_pages(|token| {
        let call = aws
            .acm
            .list_certificates()
            .certificate_statuses(aws_sdk_acm::types::CertificateStatus::Issued)
            .set_next_token(token)
            .customize()
            .config_override(
                aws_sdk_acm::config::Builder::default()
                    .region(aws_sdk_acm::config::Region::new(region.clone())),
            );
        async move {
            let page = call
                .send()
                .await
                .map_err(call_err("ListCertificates", "ACM certificates"))?;
            let next = page.next_token().map(str::to_string);
            Ok((page.certificate_summary_list.unwrap_or_default(), next))
        }
    })
    .await?;
    let names = |c: &aws_sdk_acm::types::CertificateSummary| -> Vec<String> {
        let mut n: Vec<String> = c.domain_name().into_iter().map(str::to_string).collect();
        n.extend(
            c.subject_alternative_name_summaries()
                .iter()
                .map(|s| s.to_string()),
        );
        n.into_iter().map(|s| s.to_ascii_lowercase()).collect()
    };
    let wildcard = spec
        .name
        .split_once('.')
        .map(|(_, rest)| format!("*.{rest}"))
        .unwrap_or_default();
    let pick = |want: &str| {
        summaries
            .iter()
            .find(|c| names(c).iter().any(|n| n == want))
            .and_then(|c| c.certificate_arn().map(str::to_string))
    };
    let found = match &spec.certificate_name {
        Some(n) => summaries
            .iter()
            .find(|c| c.domain_name().is_some_and(|d| d.eq_ignore_ascii_case(n)))
            .and_then(|c| c.certificate_arn().map(str::to_string)),
        None => pick(&spec.name).or_else(|| pick(&wildcard)),
    };
    found.ok_or_else(|| {
        AwsError::Other(format!(
            "no issued ACM certificate in {region} for {}{}: request one (`aws acm request-certificate --region {region}`), or set `customDomain.certificateArn`",
            spec.name,
            spec.certificate_name
                .as_ref()
                .map_or(String::new(), |n| format!(" named {n}"))
        ))
    })
}

fn record_name(cx: &Applying<'_>, domain: &str) -> String {
    format!(
        "{}{domain}",
        crate::plan::domain::record_prefix(&cx.d.service, &cx.d.stage)
    )
}

fn spec<'a>(cx: &'a Applying<'_>) -> Result<&'a DomainSpec, AwsError> {
    cx.d.domain
        .as_ref()
        .ok_or_else(|| AwsError::Other("no custom domain in the config".into()))
}

/// The id of our API of the domain's kind: made by this run, or observed.
fn api_id(cx: &Applying<'_>, api: DomainApi) -> Result<String, AwsError> {
    let k = cx.known();
    let id = match api {
        DomainApi::Rest => k.rest.id.clone(),
        DomainApi::Http => k.http.id.clone(),
        DomainApi::Websocket => k.websocket.id.clone(),
    };
    id.ok_or_else(|| AwsError::Other(format!("the custom domain's {api:?} API has no id")))
}

/// A regional domain's one configuration in API Gateway's v2 API.
fn v2_config(
    certificate: &str,
    policy: &str,
) -> aws_sdk_apigatewayv2::types::DomainNameConfiguration {
    aws_sdk_apigatewayv2::types::DomainNameConfiguration::builder()
        .certificate_arn(certificate)
        .endpoint_type(aws_sdk_apigatewayv2::types::EndpointType::Regional)
        .security_policy(aws_sdk_apigatewayv2::types::SecurityPolicy::from(policy))
        .build()
}

/// How API Gateway's v1 API names a base path mapping: the root is `(none)`.
fn v1_key(base_path: &str) -> &str {
    if base_path.is_empty() {
        "(none)"
    } else {
        base_path
    }
}

fn patch(path: &str, value: &str) -> aws_sdk_apigateway::types::PatchOperation {
    aws_sdk_apigateway::types::PatchOperation::builder()
        .op(aws_sdk_apigateway::types::Op::Replace)
        .path(path)
        .value(value)
        .build()
}

/// The domain's target: made by this run, or observed.
fn target_of(cx: &Applying<'_>, domain: &str) -> Option<Target> {
    cx.known().domain_target.clone().or_else(|| {
        cx.o.domains
            .iter()
            .find(|h| h.name == domain)
            .map(|h| h.target.clone())
    })
}

pub async fn apply(cx: &Applying<'_>, step: &DomainStep) -> Result<(), AwsError> {
    use aws_sdk_route53::types::ChangeAction;
    let aws = cx.aws;
    match step {
        DomainStep::CreateDomainName {
            domain,
            api,
            certificate_arn,
        } => {
            let s = spec(cx)?;
            let res = format!("custom domain {domain}");
            // Written first: a run stopped after the create still finds the domain.
            let record = serde_json::to_string(&DomainRecord { v2: api.v2() })
                .map_err(|e| AwsError::Other(e.to_string()))?;
            super::records::write(
                aws,
                cx.d,
                &record_name(cx, domain),
                &record,
                "sls: a custom domain this service and stage made",
                cx.o.domain_records.contains(domain),
            )
            .await?;
            let tags: HashMap<String, String> = cx.d.tags.clone().into_iter().collect();
            let target = if api.v2() {
                let config = v2_config(certificate_arn, &s.security_policy);
                let made = aws
                    .apigw2
                    .create_domain_name()
                    .domain_name(domain)
                    .domain_name_configurations(config)
                    .set_tags(Some(tags))
                    .send()
                    .await;
                match made {
                    Ok(made) => {
                        let c = made.domain_name_configurations().first();
                        Target {
                            dns_name: c
                                .and_then(|c| c.api_gateway_domain_name())
                                .unwrap_or_default()
                                .to_string(),
                            zone_id: c
                                .and_then(|c| c.hosted_zone_id())
                                .unwrap_or_default()
                                .to_string(),
                        }
                    }
                    Err(e) if exists(&e) => made_before(cx, domain).await?,
                    Err(e) => return Err(call_err("CreateDomainName", &res)(e)),
                }
            } else {
                use aws_sdk_apigateway::types::{
                    EndpointConfiguration, EndpointType, SecurityPolicy,
                };
                let call = aws
                    .apigw
                    .create_domain_name()
                    .domain_name(domain)
                    .endpoint_configuration(
                        EndpointConfiguration::builder()
                            .types(if s.regional {
                                EndpointType::Regional
                            } else {
                                EndpointType::Edge
                            })
                            .build(),
                    )
                    .security_policy(SecurityPolicy::from(s.security_policy.as_str()))
                    .set_tags(Some(tags));
                let call = if s.regional {
                    call.regional_certificate_arn(certificate_arn)
                } else {
                    call.certificate_arn(certificate_arn)
                };
                let made = match call.send().await {
                    Ok(made) => made,
                    Err(e) if exists(&e) => {
                        cx.known().domain_target = Some(made_before(cx, domain).await?);
                        return Ok(());
                    }
                    Err(e) => return Err(call_err("CreateDomainName", &res)(e)),
                };
                match s.regional {
                    true => Target {
                        dns_name: made.regional_domain_name().unwrap_or_default().to_string(),
                        zone_id: made
                            .regional_hosted_zone_id()
                            .unwrap_or_default()
                            .to_string(),
                    },
                    false => Target {
                        dns_name: made
                            .distribution_domain_name()
                            .unwrap_or_default()
                            .to_string(),
                        zone_id: made
                            .distribution_hosted_zone_id()
                            .unwrap_or(CLOUDFRONT_ZONE)
                            .to_string(),
                    },
                }
            };
            cx.known().domain_target = Some(normal(target));
        }
        DomainStep::UpdateDomainName { domain, v2, .. } => {
            let s = spec(cx)?;
            let res = format!("custom domain {domain}");
            let certificate = cx.o.certificate.clone().unwrap_or_default();
            if *v2 {
                let config = v2_config(&certificate, &s.security_policy);
                aws.apigw2
                    .update_domain_name()
                    .domain_name(domain)
                    .domain_name_configurations(config)
                    .send()
                    .await
                    .map_err(call_err("UpdateDomainName", &res))?;
            } else {
                let have = cx.o.domains.iter().find(|h| &h.name == domain);
                let mut ops = Vec::new();
                if have.is_some_and(|h| h.regional != s.regional) {
                    let (from, to) = if s.regional {
                        ("EDGE", "REGIONAL")
                    } else {
                        ("REGIONAL", "EDGE")
                    };
                    ops.push(patch(&format!("/endpointConfiguration/types/{from}"), to));
                }
                let cert_path = if s.regional {
                    "/regionalCertificateArn"
                } else {
                    "/certificateArn"
                };
                ops.push(patch(cert_path, &certificate));
                ops.push(patch("/securityPolicy", &s.security_policy));
                aws.apigw
                    .update_domain_name()
                    .domain_name(domain)
                    .set_patch_operations(Some(ops))
                    .send()
                    .await
                    .map_err(call_err("UpdateDomainName", &res))?;
            }
        }
        DomainStep::CreateApiMapping {
            domain,
            api,
            base_path,
            stage,
        } => {
            let id = api_id(cx, *api)?;
            let res = format!("custom domain {domain}");
            if api.v2() {
                let r = aws
                    .apigw2
                    .create_api_mapping()
                    .domain_name(domain)
                    .api_id(&id)
                    .stage(stage)
                    .set_api_mapping_key((!base_path.is_empty()).then(|| base_path.clone()))
                    .send()
                    .await;
                super::tolerate(r, &["ConflictException"], "CreateApiMapping", &res)?;
            } else {
                let r = aws
                    .apigw
                    .create_base_path_mapping()
                    .domain_name(domain)
                    .rest_api_id(&id)
                    .stage(stage)
                    .set_base_path((!base_path.is_empty()).then(|| base_path.clone()))
                    .send()
                    .await;
                super::tolerate(r, &["ConflictException"], "CreateBasePathMapping", &res)?;
            }
        }
        DomainStep::UpdateApiMapping {
            domain,
            api,
            mapping_id,
            base_path,
            stage,
        } => {
            let id = api_id(cx, *api)?;
            let res = format!("custom domain {domain}");
            if api.v2() {
                aws.apigw2
                    .update_api_mapping()
                    .domain_name(domain)
                    .api_mapping_id(mapping_id)
                    .api_id(&id)
                    .stage(stage)
                    .set_api_mapping_key((!base_path.is_empty()).then(|| base_path.clone()))
                    .send()
                    .await
                    .map_err(call_err("UpdateApiMapping", &res))?;
            } else {
                let key = v1_key(base_path);
                aws.apigw
                    .update_base_path_mapping()
                    .domain_name(domain)
                    .base_path(key)
                    .patch_operations(patch("/restapiId", &id))
                    .patch_operations(patch("/stage", stage))
                    .send()
                    .await
                    .map_err(call_err("UpdateBasePathMapping", &res))?;
            }
        }
        DomainStep::DeleteApiMapping {
            domain,
            v2,
            mapping_id,
            base_path,
        } => {
            let res = format!("custom domain {domain}");
            if *v2 {
                let r = aws
                    .apigw2
                    .delete_api_mapping()
                    .domain_name(domain)
                    .api_mapping_id(mapping_id)
                    .send()
                    .await;
                super::tolerate(r, super::NOT_FOUND, "DeleteApiMapping", &res)?;
            } else {
                let key = v1_key(base_path);
                let r = aws
                    .apigw
                    .delete_base_path_mapping()
                    .domain_name(domain)
                    .base_path(key)
                    .send()
                    .await;
                super::tolerate(r, super::NOT_FOUND, "DeleteBasePathMapping", &res)?;
            }
        }
        DomainStep::UpsertAliasRecords {
            domain,
            zone_id,
            kinds,
        } => {
            let target = target_of(cx, domain)
                .filter(|t| !t.dns_name.is_empty())
                .ok_or_else(|| {
                    AwsError::Other(format!(
                        "API Gateway gave custom domain {domain} no target name to point records at; deploy again, or set `createRoute53Record: false`"
                    ))
                })?;
            change(cx, ChangeAction::Upsert, domain, zone_id, kinds, &target).await?;
        }
        DomainStep::DeleteAliasRecords {
            domain,
            zone_id,
            kinds,
            target,
        } => {
            change(cx, ChangeAction::Delete, domain, zone_id, kinds, target).await?;
        }
        DomainStep::DeleteDomainName { domain, v2 } => {
            let res = format!("custom domain {domain}");
            if *v2 {
                let r = aws
                    .apigw2
                    .delete_domain_name()
                    .domain_name(domain)
                    .send()
                    .await;
                super::tolerate(r, super::NOT_FOUND, "DeleteDomainName", &res)?;
            } else {
                let r = aws
                    .apigw
                    .delete_domain_name()
                    .domain_name(domain)
                    .send()
                    .await;
                super::tolerate(r, super::NOT_FOUND, "DeleteDomainName", &res)?;
            }
            super::records::forget(aws, &record_name(cx, domain)).await?;
        }
        DomainStep::ForgetDomain { domain } => {
            super::records::forget(aws, &record_name(cx, domain)).await?;
        }
    }
    Ok(())
}

/// Whether a create failed because the name is taken (a create whose answer was lost and that
/// the SDK sent again, or someone else's domain made meanwhile).
fn exists<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> bool {
    is_code(e, &["ConflictException"])
        || (is_code(e, &["BadRequestException"])
            && e.message().is_some_and(|m| m.contains("already exists")))
}

/// The target of a domain of this name that is ours: what an earlier send of the create made.
async fn made_before(cx: &Applying<'_>, domain: &str) -> Result<Target, AwsError> {
    let spec = spec(cx)?;
    get(cx.aws, cx.d, domain, spec.api.v2())
        .await?
        .filter(|h| h.owned)
        .map(|h| h.target)
        .ok_or_else(|| AwsError::NotOurs(format!("custom domain {domain}")))
}

/// Upserts or deletes the alias records of `kinds` at the domain's name.
async fn change(
    cx: &Applying<'_>,
    action: aws_sdk_route53::types::ChangeAction,
    domain: &str,
    zone: &str,
    kinds: &[String],
    target: &Target,
) -> Result<(), AwsError> {
    use aws_sdk_route53::types::{AliasTarget, Change, ChangeBatch, ResourceRecordSet, RrType};
    let deleting = action == aws_sdk_route53::types::ChangeAction::Delete;
    let mut changes = Vec::new();
    for kind in kinds {
        let alias = AliasTarget::builder()
            .hosted_zone_id(&target.zone_id)
            .dns_name(&target.dns_name)
            .evaluate_target_health(false)
            .build()
            .map_err(other)?;
        let set = ResourceRecordSet::builder()
            .name(domain)
            .r#type(RrType::from(kind.as_str()))
            .alias_target(alias)
            .build()
            .map_err(other)?;
        changes.push(
            Change::builder()
                .action(action.clone())
                .resource_record_set(set)
                .build()
                .map_err(other)?,
        );
    }
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .map_err(other)?;
    let r = cx
        .aws
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await;
    let res = format!("Route 53 records of {domain}");
    // A record already gone (a re-run) is what a delete wants.
    let gone: &[&str] = if deleting {
        &["InvalidChangeBatch"]
    } else {
        &[]
    };
    super::tolerate(r, gone, "ChangeResourceRecordSets", &res)
}
