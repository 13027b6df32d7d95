//! Every function's events, sorted by the kind that deploys them in one pass. The match below
//! has an arm per [`Event`] variant and no wildcard: an event kind added to the config model
//! does not compile until a kind plans it (or validation refuses it and it is named here).

use crate::config::Config;
use crate::config::model::{
    AlbEvent, AlexaEvent, CloudwatchEvent, CloudwatchLogEvent, CognitoUserPoolEvent, Event,
    EventBridgeEvent, HttpApiEvent, HttpEvent, KafkaEvent, MqEvent, MskEvent, S3Event,
    ScheduleEvent, SnsEvent, SqsEvent, StreamEvent, WebsocketEvent,
};

/// One event of the function under `key` in `functions:`, of kind `E`.
pub type Of<'a, E> = (&'a String, E);

/// What a rule or a schedule fires on: rules are numbered over a function's `schedule` events
/// and, apart, over its `eventBridge` and `cloudwatchEvent` ones, in config order.
#[derive(Debug, Clone, Copy)]
pub enum Rule<'a> {
    Schedule(&'a ScheduleEvent),
    EventBridge(&'a EventBridgeEvent),
    CloudwatchEvent(&'a CloudwatchEvent),
}

/// What Lambda polls for a function: an event source mapping each.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Sqs(&'a SqsEvent),
    Stream(&'a StreamEvent),
    Msk(&'a MskEvent),
    Kafka(&'a KafkaEvent),
    /// `activemq` and `rabbitmq`: both are Amazon MQ brokers.
    Mq(&'a MqEvent),
}

/// An Alexa event and the principal its grant names.
#[derive(Debug, Clone, Copy)]
pub struct Alexa<'a> {
    pub principal: &'static str,
    pub event: &'a AlexaEvent,
}

/// The events of every function, by the kind that deploys them, each in config order.
#[derive(Debug, Default)]
pub struct Events<'a> {
    pub http_api: Vec<Of<'a, &'a HttpApiEvent>>,
    pub http: Vec<Of<'a, &'a HttpEvent>>,
    pub rules: Vec<Of<'a, Rule<'a>>>,
    pub sources: Vec<Of<'a, Source<'a>>>,
    pub sns: Vec<Of<'a, &'a SnsEvent>>,
    pub s3: Vec<Of<'a, &'a S3Event>>,
    pub alexa: Vec<Of<'a, Alexa<'a>>>,
    pub cloudwatch_log: Vec<Of<'a, &'a CloudwatchLogEvent>>,
    pub websocket: Vec<Of<'a, &'a WebsocketEvent>>,
    pub cognito: Vec<Of<'a, &'a CognitoUserPoolEvent>>,
    pub alb: Vec<Of<'a, &'a AlbEvent>>,
}

impl<'a> Events<'a> {
    pub fn of(config: &'a Config) -> Events<'a> {
        let mut out = Events::default();
        for (key, f) in config.functions.iter().flatten() {
            for ev in f.events.iter().flatten() {
                match ev {
                    Event::HttpApi(e) => out.http_api.push((key, e)),
                    Event::Http(e) => out.http.push((key, e)),
                    Event::Schedule(e) => out.rules.push((key, Rule::Schedule(e))),
                    Event::EventBridge(e) => out.rules.push((key, Rule::EventBridge(e))),
                    Event::CloudwatchEvent(e) => out.rules.push((key, Rule::CloudwatchEvent(e))),
                    Event::Sqs(e) => out.sources.push((key, Source::Sqs(e))),
                    Event::Stream(e) => out.sources.push((key, Source::Stream(e))),
                    Event::Msk(e) => out.sources.push((key, Source::Msk(e))),
                    Event::Kafka(e) => out.sources.push((key, Source::Kafka(e))),
                    Event::Activemq(e) | Event::Rabbitmq(e) => {
                        out.sources.push((key, Source::Mq(e)))
                    }
                    Event::Sns(e) => out.sns.push((key, e)),
                    Event::S3(e) => out.s3.push((key, e)),
                    Event::AlexaSkill(event) => out.alexa.push((
                        key,
                        Alexa {
                            principal: "alexa-appkit.amazon.com",
                            event,
                        },
                    )),
                    Event::AlexaSmartHome(event) => out.alexa.push((
                        key,
                        Alexa {
                            principal: "alexa-connectedhome.amazon.com",
                            event,
                        },
                    )),
                    Event::CloudwatchLog(e) => out.cloudwatch_log.push((key, e)),
                    Event::Websocket(e) => out.websocket.push((key, e)),
                    Event::CognitoUserPool(e) => out.cognito.push((key, e)),
                    Event::Alb(e) => out.alb.push((key, e)),
                    // Refused by validation before a deploy plans anything; a command that only
                    // reads the config (print, offline, info) plans nothing of it either.
                    Event::Unsupported(_) => {}
                }
            }
        }
        out
    }
}
