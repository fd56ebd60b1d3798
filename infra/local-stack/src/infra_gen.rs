//! Generates the deployment description from the route table:
//!
//! - `template.yaml`: the root SAM stack — the table (from its one definition), the media
//!   bucket, the queues with their dead-letter queues, the HTTP API with its CORS configuration,
//!   and one nested stack per domain;
//! - `infra/stacks/<domain>.yaml`: that domain's functions, each with its own least-privilege role,
//!   its API route and integration, its queue or schedule;
//! - `events/<binary>.json`: a sample event per function for `cargo lambda invoke --data-file`.
//!
//! Why nested stacks: CloudFormation allows 500 resources per stack and an HTTP function costs
//! five (function, role, integration, route, permission). The root holds a fixed handful of
//! resources plus one per nested stack, and a domain with more than [`MAX_FUNCTIONS_PER_STACK`]
//! functions is split into several stacks, so no stack nears the limit at any product size.
//! `tests/infra.rs` measures this for a 150-endpoint product.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use shared::queues::Queue;
use shared::routes::{Domain, Function, Permission, Route, Setting, SettingSource, Trigger};

use crate::apigw::{IncomingRequest, http_event};
use crate::cors::Cors;

/// Functions per nested stack: 60 × 5 resources + parameters' worth of headroom < 500.
pub const MAX_FUNCTIONS_PER_STACK: usize = 60;

/// Every function of a domain, in declaration order.
fn functions(d: &Domain) -> Vec<&'static Function> {
    d.functions.to_vec()
}

/// `mail-worker` → `MailWorker`: a CloudFormation logical id.
pub fn logical_id(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

fn queue_id(q: &Queue) -> String {
    format!("{}Queue", logical_id(q.name))
}
fn dlq_id(q: &Queue) -> String {
    format!("{}DeadLetterQueue", logical_id(q.name))
}

fn r(name: &str) -> Value {
    json!({"Ref": name})
}
fn sub(s: &str) -> Value {
    json!({"Fn::Sub": s})
}
fn get_att(name: &str, attr: &str) -> Value {
    json!({"Fn::GetAtt": [name, attr]})
}

/// Every setting the functions declare (`shared::config::Setting`): the template's parameters,
/// Globals and each function's secrets come from these.
fn settings() -> Vec<&'static Setting> {
    shared::routes::settings(crate::catalog::functions())
}

/// The value the root stack hands a nested stack for `setting`.
fn setting_value(setting: &Setting) -> Value {
    match setting.source {
        SettingSource::Public { .. } | SettingSource::SecretParameter => r(setting.parameter),
        SettingSource::Ssm { name } => sub(&format!("{{{{resolve:ssm:/petplatform/${{Stage}}/{name}}}}}")),
        SettingSource::Generated { .. } => {
            sub(&format!("{{{{resolve:secretsmanager:${{{}Secret}}:SecretString}}}}", setting.parameter))
        }
    }
}

/// Alarms to the operations address: a message in any dead-letter queue, server errors of the
/// HTTP API, throttled table requests, and Lambda errors.
fn alarms(resources: &mut serde_json::Map<String, Value>) {
    resources.insert(
        "AlarmTopic".into(),
        json!({
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": sub("petplatform-${Stage}-alarms"),
                "KmsMasterKeyId": "alias/aws/sns",
                "Subscription": [{"Protocol": "email", "Endpoint": r("OpsEmail")}]
            }
        }),
    );
    let alarm = |name: &str,
                 description: &str,
                 namespace: &str,
                 metric: &str,
                 dimensions: Value,
                 threshold: f64,
                 statistic: &str| {
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": sub(&format!("petplatform-${{Stage}}-{name}")),
                "AlarmDescription": description,
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": dimensions,
                "Statistic": statistic,
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": threshold,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [r("AlarmTopic")]
            }
        })
    };
    for q in crate::catalog::queues() {
        resources.insert(
            format!("{}DepthAlarm", dlq_id(q)),
            alarm(
                &format!("{}-dlq", q.name),
                &format!("Messages wait in the {} dead-letter queue", q.name),
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                json!([{"Name": "QueueName", "Value": get_att(&dlq_id(q), "QueueName")}]),
                0.0,
                "Maximum",
            ),
        );
    }
    resources.insert(
        "HttpApi5xxAlarm".into(),
        alarm(
            "http-5xx",
            "The HTTP API answered server errors",
            "AWS/ApiGateway",
            "5xx",
            json!([{"Name": "ApiId", "Value": r("HttpApi")}]),
            5.0,
            "Sum",
        ),
    );
    resources.insert(
        "TableThrottleAlarm".into(),
        alarm(
            "table-throttles",
            "The table throttled requests",
            "AWS/DynamoDB",
            "ThrottledRequests",
            json!([{"Name": "TableName", "Value": r("Table")}]),
            0.0,
            "Sum",
        ),
    );
    resources.insert(
        "LambdaErrorsAlarm".into(),
        alarm(
            "lambda-errors",
            "Functions failed (all functions of the account and region)",
            "AWS/Lambda",
            "Errors",
            json!([]),
            5.0,
            "Sum",
        ),
    );
}

/// The operators' dashboard: the product's own figures (the functions' EMF lines, namespace
/// `PetPlatform`, see `shared::metrics`) beside Lambda's, the HTTP API's and the table's.
fn dashboard(resources: &mut serde_json::Map<String, Value>) {
    use shared::metrics::{NAMESPACE, names};
    use {chat::figures as chat_f, diary::figures as diary_f, identity::figures as identity_f};
    use {market::figures as market_f, notifications::figures as push_f};
    let ns = NAMESPACE;
    let widget = |n: usize, title: &str, stat: &str, metrics: Value| {
        json!({"type": "metric", "x": (n % 2) * 12, "y": (n / 2) * 6, "width": 12, "height": 6,
               "properties": {"title": title, "region": "${AWS::Region}", "stat": stat, "period": 300,
                              "view": "timeSeries", "metrics": metrics}})
    };
    let per_function = |metric: &str, stat: &str| json!([[{"expression": format!("SEARCH('{{{ns},Function}} MetricName=\"{metric}\"', '{stat}', 300)"), "id": "e1"}]]);
    let widgets = vec![
        widget(
            0,
            "Sign-ups and failed sign-ins",
            "Sum",
            json!([[ns, identity_f::SIGN_UPS], [ns, identity_f::SIGN_INS_FAILED]]),
        ),
        widget(1, "Posts and chat messages", "Sum", json!([[ns, diary_f::POSTS], [ns, chat_f::MESSAGES]])),
        widget(2, "Sales and refunds", "Sum", json!([[ns, market_f::SALES], [ns, market_f::REFUNDS]])),
        widget(
            3,
            "Sales and refunds (KRW)",
            "Sum",
            json!([[ns, market_f::SALES_AMOUNT], [ns, market_f::REFUNDS_AMOUNT]]),
        ),
        widget(4, "Web Push", "Sum", json!([[ns, push_f::PUSH_DELIVERIES], [ns, push_f::PUSH_FAILURES]])),
        widget(
            5,
            "Outbox age (ms)",
            "Maximum",
            json!([[ns, names::OUTBOX_AGE, {"stat": "p99"}], [ns, names::OUTBOX_AGE]]),
        ),
        widget(6, "DynamoDB calls per request, by function", "Average", per_function(names::DYNAMODB_CALLS, "Average")),
        widget(7, "Transaction conflicts retried, by function", "Sum", per_function(names::CONFLICTS_RETRIED, "Sum")),
        widget(
            8,
            "Lambda",
            "Sum",
            json!([["AWS/Lambda", "Invocations"], ["AWS/Lambda", "Errors"], ["AWS/Lambda", "Throttles"]]),
        ),
        widget(
            9,
            "Lambda duration (ms)",
            "p99",
            json!([["AWS/Lambda", "Duration"], ["AWS/Lambda", "Duration", {"stat": "Average"}]]),
        ),
        widget(
            10,
            "HTTP API",
            "Sum",
            json!([
                ["AWS/ApiGateway", "Count", "ApiId", "${HttpApi}"],
                ["AWS/ApiGateway", "4xx", "ApiId", "${HttpApi}"],
                ["AWS/ApiGateway", "5xx", "ApiId", "${HttpApi}"]
            ]),
        ),
        widget(11, "HTTP API latency (ms)", "p99", json!([["AWS/ApiGateway", "Latency", "ApiId", "${HttpApi}"]])),
        widget(
            12,
            "Table",
            "Sum",
            json!([
                ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", "${Table}"],
                ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", "${Table}"],
                ["AWS/DynamoDB", "ThrottledRequests", "TableName", "${Table}"]
            ]),
        ),
    ];
    resources.insert(
        "OperationsDashboard".into(),
        json!({
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": sub("petplatform-${Stage}"),
                "DashboardBody": sub(&json!({"widgets": widgets}).to_string()),
            }
        }),
    );
}

/// The WebSocket API's stage (its URL's last segment).
const WEBSOCKET_STAGE: &str = "live";

/// The parameters every nested stack receives from the root, with their values there.
fn nested_parameters() -> Vec<(String, Value)> {
    let mut p = vec![
        ("Stage".to_string(), r("Stage")),
        ("TableName".to_string(), r("Table")),
        ("TableArn".to_string(), get_att("Table", "Arn")),
        ("LogRetentionDays".to_string(), r("LogRetentionDays")),
        ("ReservedConcurrency".to_string(), r("ReservedConcurrency")),
        ("AlarmTopicArn".to_string(), r("AlarmTopic")),
        ("JobFailuresQueueArn".to_string(), get_att("JobFailuresQueue", "Arn")),
        ("StackCmkArn".to_string(), get_att("StackCmk", "Arn")),
        ("TableStreamArn".to_string(), get_att("Table", "StreamArn")),
        ("MediaBucket".to_string(), r("MediaBucket")),
        ("MediaBaseUrl".to_string(), sub("https://${MediaDistribution.DomainName}")),
        ("HttpApiId".to_string(), r("HttpApi")),
        ("WebSocketApiId".to_string(), r("WebSocketApi")),
        (
            "WebSocketEndpoint".to_string(),
            sub(&format!("https://${{WebSocketApi}}.execute-api.${{AWS::Region}}.amazonaws.com/{WEBSOCKET_STAGE}")),
        ),
        ("MailFrom".to_string(), r("MailFrom")),
        ("OpsEmail".to_string(), r("OpsEmail")),
    ];
    for setting in settings() {
        p.push((setting.parameter.to_string(), setting_value(setting)));
    }
    for q in crate::catalog::queues() {
        p.push((format!("{}Url", queue_id(q)), r(&queue_id(q))));
        p.push((format!("{}Arn", queue_id(q)), get_att(&queue_id(q), "Arn")));
        p.push((format!("{}Url", dlq_id(q)), r(&dlq_id(q))));
        p.push((format!("{}Arn", dlq_id(q)), get_att(&dlq_id(q), "Arn")));
    }
    p
}

fn environment() -> Value {
    let mut vars = serde_json::Map::new();
    vars.insert("STAGE".into(), r("Stage"));
    vars.insert("TABLE_NAME".into(), r("TableName"));
    vars.insert("MEDIA_BUCKET".into(), r("MediaBucket"));
    vars.insert("MEDIA_BASE_URL".into(), r("MediaBaseUrl"));
    vars.insert("WEBSOCKET_ENDPOINT".into(), r("WebSocketEndpoint"));
    vars.insert("MAIL_FROM".into(), r("MailFrom"));
    vars.insert("OPS_EMAIL".into(), r("OpsEmail"));
    vars.insert("RUST_LOG".into(), json!("info"));
    // The upload purposes the domains declare (`POST /uploads` offers them).
    vars.insert(
        shared::media::PURPOSES_ENV.into(),
        json!(shared::media::encode_purposes(&crate::catalog::upload_purposes())),
    );
    // Every queue's name (the dead-letter watch reads them all).
    vars.insert(
        shared::queues::QUEUES_ENV.into(),
        json!(shared::routes::encode_queue_names(&crate::catalog::queues())),
    );
    // Which queues take which domain event (`shared::events`), from the workers' declarations.
    vars.insert(
        shared::events::SUBSCRIBERS_ENV.into(),
        json!(shared::events::encode_subscriptions(&shared::routes::subscriptions(crate::catalog::functions()))),
    );
    for setting in settings().into_iter().filter(|s| !s.is_secret()) {
        vars.insert(setting.env_var.into(), r(setting.parameter));
    }
    for q in crate::catalog::queues() {
        vars.insert(q.url_var(), r(&format!("{}Url", queue_id(q))));
        vars.insert(q.dlq_url_var(), r(&format!("{}Url", dlq_id(q))));
    }
    json!({"Variables": vars})
}

/// The IAM statements a function is given in the template: its permissions, and a worker's send
/// to its own dead-letter queue. The local stack enforces exactly these (`iam.rs`).
pub fn statements(f: &Function) -> Vec<Value> {
    let mut statements = match policy(f.permissions) {
        Value::Array(mut p) => p.pop().map(|p| p["Statement"].clone()),
        _ => None,
    }
    .and_then(|s| s.as_array().cloned())
    .unwrap_or_default();
    if let Trigger::Http(route) = &f.trigger {
        // What the kernel itself reads and writes for any HTTP function: the caller's session
        // (any route may be called with a token), the write-rate counter
        // (`Route::counts_writes`) and the idempotency record (`Route::takes_idempotency_key`).
        let mut actions = Vec::new();
        if !f.permissions.contains(&Permission::TableRead) {
            actions.extend(["dynamodb:GetItem", "dynamodb:BatchGetItem"]);
        }
        if !f.permissions.contains(&Permission::TableWrite) {
            if route.takes_idempotency_key() {
                actions.extend(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]);
            } else if route.counts_writes() {
                actions.push("dynamodb:UpdateItem");
            }
        }
        if !actions.is_empty() {
            statements.push(json!({"Effect": "Allow", "Action": actions, "Resource": r("TableArn")}));
        }
    }
    if let Trigger::Schedule(_) = &f.trigger {
        // A run that failed its retries goes to the job-failures queue (the function's
        // on-failure destination, which Lambda sends with the function's role).
        statements
            .push(json!({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": r("JobFailuresQueueArn")}));
    }
    if let Trigger::Sqs(w) = &f.trigger {
        // A message that can never succeed is moved to the dead-letter queue by the worker.
        statements.push(json!({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": r(&format!("{}Arn", dlq_id(w.queue)))}));
        // A message retried later gets its delay as its visibility (`MessageError::RetryAfter`);
        // the managed policy of SQS event sources (AWSLambdaSQSQueueExecutionRole) has no
        // ChangeMessageVisibility.
        statements.push(json!({"Effect": "Allow", "Action": ["sqs:ChangeMessageVisibility"], "Resource": r(&format!("{}Arn", queue_id(w.queue)))}));
    }
    statements
}

/// What the parameters and pseudo parameters a policy statement names stand for in the local
/// stack (`arn:aws:…:us-east-1:000000000000:…`).
pub fn local_parameters(
    region: &str,
    account: &str,
    table: &str,
    bucket: &str,
    mail_from: &str,
) -> BTreeMap<String, String> {
    let mut p = BTreeMap::from([
        ("AWS::Partition".to_string(), "aws".to_string()),
        ("AWS::Region".to_string(), region.to_string()),
        ("AWS::AccountId".to_string(), account.to_string()),
        ("TableName".to_string(), table.to_string()),
        ("TableArn".to_string(), format!("arn:aws:dynamodb:{region}:{account}:table/{table}")),
        ("TableStreamArn".to_string(), format!("arn:aws:dynamodb:{region}:{account}:table/{table}/stream/local")),
        ("MediaBucket".to_string(), bucket.to_string()),
        ("MailFrom".to_string(), mail_from.to_string()),
        ("WebSocketApiId".to_string(), LOCAL_WEBSOCKET_API_ID.to_string()),
        ("JobFailuresQueueArn".to_string(), format!("arn:aws:sqs:{region}:{account}:job-failures")),
    ]);
    // Settings as the local stack runs them: their defaults.
    for setting in settings() {
        if let SettingSource::Public { default } = setting.source {
            p.insert(setting.parameter.to_string(), default.to_string());
        }
    }
    for q in crate::catalog::queues() {
        p.insert(format!("{}Arn", queue_id(q)), format!("arn:aws:sqs:{region}:{account}:{}", q.name));
        p.insert(format!("{}Arn", dlq_id(q)), format!("arn:aws:sqs:{region}:{account}:{}", q.dlq_name()));
    }
    p
}

/// The most concurrent batches an SQS event source invokes a worker with.
const WORKER_MAX_CONCURRENCY: u32 = 5;

/// The WebSocket API's id in the local stack (and its stage's name).
pub const LOCAL_WEBSOCKET_API_ID: &str = "local";

/// IAM statements for a function's permissions: only what it uses, on only our resources.
fn policy(perms: &[Permission]) -> Value {
    let table = || json!([r("TableArn"), sub("${TableArn}/index/*")]);
    let mut statements = Vec::new();
    for p in perms {
        let st = match p {
            Permission::TableRead => {
                json!({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"], "Resource": table()})
            }
            Permission::TableWrite => {
                json!({"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"], "Resource": table()})
            }
            Permission::MediaRead => {
                json!({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": sub("arn:${AWS::Partition}:s3:::${MediaBucket}/*")})
            }
            Permission::MediaWrite => {
                json!({"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": sub("arn:${AWS::Partition}:s3:::${MediaBucket}/*")})
            }
            Permission::SendEmail => {
                json!({"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": "*", "Condition": {"StringEquals": {"ses:FromAddress": r("MailFrom")}}})
            }
            Permission::SendTo(q) => {
                json!({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": r(&format!("{}Arn", queue_id(q)))})
            }
            Permission::RelayOutbox => {
                json!({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": shared::outbox::targets(&crate::catalog::queues()).map(|q| r(&format!("{}Arn", queue_id(q)))).collect::<Vec<_>>()})
            }
            Permission::InspectQueues => {
                json!({"Effect": "Allow", "Action": ["sqs:GetQueueAttributes"], "Resource": crate::catalog::queues().into_iter().flat_map(|q| [r(&format!("{}Arn", queue_id(q))), r(&format!("{}Arn", dlq_id(q)))]).collect::<Vec<_>>()})
            }
            Permission::DetectSentiment => {
                json!({"Effect": "Allow", "Action": ["comprehend:BatchDetectSentiment"], "Resource": "*"})
            }
            // Converse is authorized as InvokeModel, on the one model the setting names.
            Permission::InvokeModel(model) => {
                json!({"Effect": "Allow", "Action": ["bedrock:InvokeModel"], "Resource": sub(&format!("arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/${{{}}}", model.parameter))})
            }
            Permission::ManageConnections => {
                json!({"Effect": "Allow", "Action": ["execute-api:ManageConnections"], "Resource": sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApiId}/*/*/@connections/*")})
            }
        };
        statements.push(st);
    }
    json!([{"Statement": statements}])
}

/// A route of one of the APIs (`api` names its id parameter): the integration with the function,
/// the route, and the permission for the API to invoke the function.
fn api_route(resources: &mut serde_json::Map<String, Value>, id: &str, api: &str, route_key: &str, integration: Value) {
    resources.insert(
        format!("{id}Integration"),
        json!({"Type": "AWS::ApiGatewayV2::Integration", "Properties": integration}),
    );
    resources.insert(
        format!("{id}Route"),
        json!({
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": r(api),
                "RouteKey": route_key,
                "Target": sub(&format!("integrations/${{{id}Integration}}"))
            }
        }),
    );
    resources.insert(format!("{id}InvokePermission"), json!({
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": r(&format!("{id}Function")),
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": sub(&format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/*"))
        }
    }));
}

/// One nested stack holding `funcs` of one package.
fn nested_stack(funcs: &[&Function]) -> Value {
    let mut params = serde_json::Map::new();
    for (name, _) in nested_parameters() {
        let secret = name.contains("Secret") || name.contains("Key");
        let mut p = json!({"Type": "String"});
        if secret {
            p["NoEcho"] = json!(true);
        }
        params.insert(name, p);
    }
    let mut resources = serde_json::Map::new();
    for f in funcs {
        function(&mut resources, f);
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Generated by gen-infra from the route table. Do not edit.",
        "Parameters": params,
        "Globals": {"Function": {
            "Runtime": "provided.al2023",
            "Architectures": ["arm64"],
            "Handler": "bootstrap",
            "Tracing": "Active",
            // The environment (the secrets among it) is encrypted with the stack's own key: only
            // who may use that key reads it.
            "KmsKeyArn": r("StackCmkArn"),
            "Environment": environment(),
            "LoggingConfig": {"LogFormat": "JSON"}
        }},
        "Resources": resources
    })
}

/// A function's resources: the function with its policy and the secrets it declares, its log
/// group, and for one that runs unseen (a worker, the relay, a job) an errors alarm.
fn function(resources: &mut serde_json::Map<String, Value>, f: &Function) {
    let id = logical_id(f.binary);
    let mut props = json!({
        "FunctionName": sub(&format!("petplatform-${{Stage}}-{}", f.binary)),
        "CodeUri": format!("../../functions/{}", f.package),
        "Policies": [{"Statement": statements(f)}],
        "MemorySize": f.memory_mb,
        "Timeout": f.timeout_secs,
        "Description": f.summary(),
    });
    // Only the secrets this function declares reach it.
    let secrets: serde_json::Map<String, Value> =
        f.all_secrets().into_iter().map(|s| (s.env_var.to_string(), r(s.parameter))).collect();
    if !secrets.is_empty() {
        props["Environment"] = json!({"Variables": secrets});
    }
    // Its own log group, kept `LogRetentionDays` (named after the function, so it is the one
    // Lambda writes to).
    resources.insert(
        format!("{id}LogGroup"),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": sub(&format!("/aws/lambda/${{{id}Function}}")),
                "RetentionInDays": r("LogRetentionDays"),
                "KmsKeyId": r("StackCmkArn")
            }
        }),
    );
    if !matches!(f.trigger, Trigger::Http(_) | Trigger::WebSocket(_)) {
        // Workers, the relay and jobs run unseen: an error is an alarm of its own. Each has
        // a reserved share of the account's concurrency, so a flood elsewhere cannot starve
        // it (and it cannot take more).
        props["ReservedConcurrentExecutions"] = r("ReservedConcurrency");
        resources.insert(
            format!("{id}ErrorsAlarm"),
            json!({
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": sub(&format!("petplatform-${{Stage}}-{}-errors", f.binary)),
                    "AlarmDescription": format!("{} failed: {}", f.binary, f.summary()),
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Errors",
                    "Dimensions": [{"Name": "FunctionName", "Value": r(&format!("{id}Function"))}],
                    "Statistic": "Sum",
                    "Period": 300,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [r("AlarmTopicArn")]
                }
            }),
        );
    }
    triggers(resources, &mut props, f, &id);
    resources.insert(
        format!("{id}Function"),
        json!({
            "Type": "AWS::Serverless::Function",
            "Metadata": {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": f.binary}},
            "Properties": props
        }),
    );
}

/// What invokes `f`: an API route, a queue or the table stream's event source, or a schedule.
fn triggers(resources: &mut serde_json::Map<String, Value>, props: &mut Value, f: &Function, id: &str) {
    match &f.trigger {
        Trigger::Http(route) => {
            props["Description"] = json!(format!("{} — {}", route.route_key(), route.doc.summary));
            let integration = json!({
                "ApiId": r("HttpApiId"),
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": get_att(&format!("{id}Function"), "Arn"),
                "PayloadFormatVersion": "2.0"
            });
            api_route(resources, id, "HttpApiId", &route.route_key(), integration);
        }
        Trigger::Sqs(w) => {
            props["Events"] = json!({"Queue": {"Type": "SQS", "Properties": {
                "Queue": r(&format!("{}Arn", queue_id(w.queue))),
                "BatchSize": w.batch_size,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                // At most this many concurrent batches: below the reserved concurrency, so the
                // mapping is never throttled into redelivering.
                "ScalingConfig": {"MaximumConcurrency": WORKER_MAX_CONCURRENCY}
            }}});
        }
        Trigger::Stream(c) => {
            props["Events"] = json!({"TableStream": {"Type": "DynamoDB", "Properties": {
                "Stream": r("TableStreamArn"),
                "StartingPosition": "TRIM_HORIZON",
                "BatchSize": c.batch_size,
                "MaximumRetryAttempts": c.max_retries,
                "BisectBatchOnFunctionError": true,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": r(&format!("{}Arn", dlq_id(c.failure_queue)))}},
                // Only the records it reads invoke it (the local mapping filters the same way).
                "FilterCriteria": {"Filters": [{"Pattern": c.filter.pattern().to_string()}]}
            }}});
        }
        Trigger::Schedule(j) => {
            // A run EventBridge could not deliver, and one that failed Lambda's two retries,
            // land in the job-failures queue, which alarms.
            props["Events"] = json!({"Schedule": {"Type": "Schedule", "Properties": {
                "Schedule": j.schedule,
                "DeadLetterConfig": {"Arn": r("JobFailuresQueueArn")}
            }}});
            props["EventInvokeConfig"] = json!({
                "MaximumRetryAttempts": 2,
                "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": r("JobFailuresQueueArn")}}
            });
            props["DeadLetterQueue"] = json!({"Type": "SQS", "TargetArn": r("JobFailuresQueueArn")});
        }
        Trigger::WebSocket(ws) => {
            props["Description"] = json!(format!("WebSocket {} — {}", ws.route_key, ws.summary));
            // WebSocket APIs name the function by its invocation URI.
            let integration = json!({
                "ApiId": r("WebSocketApiId"),
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": sub(&format!("arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{id}Function.Arn}}/invocations"))
            });
            api_route(resources, id, "WebSocketApiId", ws.route_key, integration);
        }
    }
}

/// The stacks a domain becomes: `(file stem, functions)`.
fn stacks_of(d: &Domain) -> Vec<(String, Vec<&'static Function>)> {
    let funcs = functions(d);
    if funcs.len() <= MAX_FUNCTIONS_PER_STACK {
        return vec![(d.name.to_string(), funcs)];
    }
    funcs
        .chunks(MAX_FUNCTIONS_PER_STACK)
        .enumerate()
        .map(|(i, c)| (format!("{}-{}", d.name, i + 1), c.to_vec()))
        .collect()
}

fn root_template(domains: &[Domain], cors: &Cors) -> Value {
    let mut resources = serde_json::Map::new();
    storage(&mut resources, cors);
    media_distribution(&mut resources);
    alarms(&mut resources);
    dashboard(&mut resources);
    operations(&mut resources);
    queues(&mut resources);
    apis(&mut resources, cors);
    nested_stacks(&mut resources, domains);
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Pet platform: every HTTP endpoint, worker and job a Lambda function, one DynamoDB table, one media bucket. Generated by gen-infra from the route table. Do not edit.",
        "Parameters": root_parameters(cors),
        "Resources": resources,
        "Outputs": {
            "ApiUrl": {"Value": get_att("HttpApi", "ApiEndpoint")},
            "WebSocketUrl": {"Value": sub(&format!("wss://${{WebSocketApi}}.execute-api.${{AWS::Region}}.amazonaws.com/{WEBSOCKET_STAGE}"))},
            "TableName": {"Value": r("Table")},
            "MediaBucketName": {"Value": r("MediaBucket")},
            "MediaUrl": {"Value": sub("https://${MediaDistribution.DomainName}")}
        }
    })
}

/// The table, the secrets Secrets Manager generates, and the media bucket.
fn storage(resources: &mut serde_json::Map<String, Value>, cors: &Cors) {
    resources.insert(
        "Table".into(),
        json!({
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": shared::table::definition::cloudformation_properties()
        }),
    );
    // Generated secrets (an encryption key): made by Secrets Manager, never in the template or a
    // parameter.
    for setting in settings() {
        if let SettingSource::Generated { name } = setting.source {
            resources.insert(
                format!("{}Secret", setting.parameter),
                json!({
                    "Type": "AWS::SecretsManager::Secret",
                    "DeletionPolicy": "Retain",
                    "UpdateReplacePolicy": "Retain",
                    "Properties": {
                        "Name": sub(&format!("petplatform/${{Stage}}/{name}")),
                        "Description": setting.description,
                        "KmsKeyId": get_att("StackCmk", "Arn"),
                        "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": true}
                    }
                }),
            );
        }
    }
    resources.insert("MediaBucket".into(), json!({
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            // Old versions go after 30 days, and so do parts of uploads never completed.
            "LifecycleConfiguration": {"Rules": [{
                "Id": "old-versions-and-abandoned-uploads",
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                "ExpiredObjectDeleteMarker": true
            }]},
            "CorsConfiguration": {"CorsRules": [{
                "AllowedMethods": ["GET", "PUT", "HEAD"],
                "AllowedOrigins": r("CorsAllowOrigins"),
                "AllowedHeaders": ["*"],
                "MaxAge": cors.max_age
            }]}
        }
    }));
}

/// Every domain's queues, each with its dead-letter queue.
fn queues(resources: &mut serde_json::Map<String, Value>) {
    for q in crate::catalog::queues() {
        resources.insert(
            dlq_id(q),
            json!({
                "Type": "AWS::SQS::Queue",
                "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": true}
            }),
        );
        resources.insert(queue_id(q), json!({
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": q.visibility_timeout_secs,
                "SqsManagedSseEnabled": true,
                "RedrivePolicy": {"deadLetterTargetArn": get_att(&dlq_id(q), "Arn"), "maxReceiveCount": q.max_receive_count}
            }
        }));
    }
}

/// The HTTP API and the WebSocket API, with their stages.
fn apis(resources: &mut serde_json::Map<String, Value>, cors: &Cors) {
    resources.insert(
        "HttpApi".into(),
        json!({
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": sub("petplatform-${Stage}"),
                "ProtocolType": "HTTP",
                "CorsConfiguration": {
                    "AllowOrigins": r("CorsAllowOrigins"),
                    "AllowMethods": cors.allow_methods,
                    "AllowHeaders": cors.allow_headers,
                    "ExposeHeaders": cors.expose_headers,
                    "AllowCredentials": cors.credentials_allowed(),
                    "MaxAge": cors.max_age
                }
            }
        }),
    );
    resources.insert(
        "WebSocketApi".into(),
        json!({
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": sub("petplatform-${Stage}-realtime"),
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": "$request.body.action"
            }
        }),
    );
    resources.insert(
        "WebSocketStage".into(),
        json!({
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "ApiId": r("WebSocketApi"),
                "StageName": WEBSOCKET_STAGE,
                "AutoDeploy": true,
                "AccessLogSettings": access_log_settings(),
                "DefaultRouteSettings": {"ThrottlingBurstLimit": 500, "ThrottlingRateLimit": 1000}
            }
        }),
    );
    resources.insert(
        "HttpApiStage".into(),
        json!({
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "ApiId": r("HttpApi"),
                "StageName": "$default",
                "AutoDeploy": true,
                "AccessLogSettings": access_log_settings(),
                "DefaultRouteSettings": {"ThrottlingBurstLimit": 500, "ThrottlingRateLimit": 1000}
            }
        }),
    );
}

/// One nested stack per domain (or per share of a large one), each given the same parameters.
fn nested_stacks(resources: &mut serde_json::Map<String, Value>, domains: &[Domain]) {
    let params: serde_json::Map<String, Value> = nested_parameters().into_iter().collect();
    for d in domains {
        for (stem, _) in stacks_of(d) {
            resources.insert(
                format!("{}Functions", logical_id(&stem)),
                json!({
                    "Type": "AWS::Serverless::Application",
                    "Properties": {"Location": format!("infra/stacks/{stem}.yaml"), "Parameters": params}
                }),
            );
        }
    }
}

/// The root stack's parameters: the stage and operational ones, then the settings the parts of
/// the product declare.
fn root_parameters(cors: &Cors) -> Value {
    let mut parameters = json!({
        "Stage": {"Type": "String", "Default": "dev", "AllowedPattern": "^[a-z][a-z0-9-]{1,15}$", "Description": "Stage name; secrets are read from SSM under /petplatform/<Stage>/"},
        "CorsAllowOrigins": {"Type": "CommaDelimitedList", "Default": cors.allow_origins.join(","), "Description": "Browser origins allowed to call the API and upload media"},
        "MailFrom": {"Type": "String", "Default": "no-reply@example.com", "Description": "SES-verified sender address"},
        "OpsEmail": {"Type": "String", "Default": "ops@example.com", "Description": "Where operational alerts go"},
        "LogRetentionDays": {"Type": "Number", "Default": 30, "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], "Description": "How long function and API access logs are kept"},
        "ReservedConcurrency": {"Type": "Number", "Default": 10, "MinValue": WORKER_MAX_CONCURRENCY, "Description": "Concurrency reserved for each worker, the outbox relay and each job (their SQS sources run at most 5 batches at once)"}
    });
    // The settings the parts of the product declare: public ones with their defaults, secret
    // ones hidden (those from SSM or generated by Secrets Manager are no parameter at all).
    for setting in settings() {
        let parameter = match setting.source {
            SettingSource::Public { default } => {
                json!({"Type": "String", "Default": default, "Description": setting.description})
            }
            SettingSource::SecretParameter => {
                json!({"Type": "String", "Default": "", "NoEcho": true, "Description": setting.description})
            }
            SettingSource::Ssm { .. } | SettingSource::Generated { .. } => continue,
        };
        parameters[setting.parameter] = parameter;
    }
    parameters
}

/// Access log settings of both API stages: one JSON line a request, in the access log group.
fn access_log_settings() -> Value {
    let format = json!({
        "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "time": "$context.requestTime",
        "routeKey": "$context.routeKey", "status": "$context.status", "latencyMs": "$context.integrationLatency",
        "error": "$context.integrationErrorMessage", "connectionId": "$context.connectionId"
    });
    json!({"DestinationArn": get_att("ApiAccessLogs", "Arn"), "Format": format.to_string()})
}

/// What operators need beyond the alarms: the API access logs, the queue failed job runs land in
/// (with its alarm), and the key function environments are encrypted with.
fn operations(resources: &mut serde_json::Map<String, Value>) {
    resources.insert(
        "ApiAccessLogs".into(),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": sub("/petplatform/${Stage}/api-access"),
                "RetentionInDays": r("LogRetentionDays"),
                "KmsKeyId": get_att("StackCmk", "Arn")
            }
        }),
    );
    resources.insert(
        "JobFailuresQueue".into(),
        json!({
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": true}
        }),
    );
    // EventBridge delivers to the queue as itself (a run it could not hand to Lambda).
    resources.insert(
        "JobFailuresQueuePolicy".into(),
        json!({
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [r("JobFailuresQueue")],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": get_att("JobFailuresQueue", "Arn"),
                    "Condition": {"StringEquals": {"aws:SourceAccount": r("AWS::AccountId")}}
                }]}
            }
        }),
    );
    resources.insert(
        "JobFailuresAlarm".into(),
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": sub("petplatform-${Stage}-job-failures"),
                "AlarmDescription": "A scheduled job's run failed after its retries (ads-lifecycle, market-settle-payments, …): the message says which",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": get_att("JobFailuresQueue", "QueueName")}],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [r("AlarmTopic")]
            }
        }),
    );
    resources.insert(
        "StackCmk".into(),
        json!({
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": sub("petplatform ${Stage}: encrypts the functions' environments (provider secrets), the logs and the Instagram token key"),
                "EnableKeyRotation": true,
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [
                    {
                        "Sid": "AccountAdministersTheKey",
                        "Effect": "Allow",
                        "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                        "Action": "kms:*",
                        "Resource": "*"
                    },
                    {
                        "Sid": "CloudWatchLogsEncryptsThisStacksLogGroups",
                        "Effect": "Allow",
                        "Principal": {"Service": sub("logs.${AWS::Region}.amazonaws.com")},
                        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                        "Resource": "*",
                        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")}}
                    }
                ]}
            }
        }),
    );
}

/// The CDN clients read media through: CloudFront in front of the bucket, forwarding the
/// presigned query (S3 checks the signature, under the bucket's own host, which CloudFront sends to
/// an S3 origin) and adding the security headers S3 cannot send — what the local stack's media
/// stand-in does (`media_cdn`).
fn media_distribution(resources: &mut serde_json::Map<String, Value>) {
    use crate::media_cdn::{CONTENT_SECURITY_POLICY, REFERRER_POLICY};
    resources.insert("MediaResponseHeaders".into(), json!({
        "Type": "AWS::CloudFront::ResponseHeadersPolicy",
        "Properties": {"ResponseHeadersPolicyConfig": {
            "Name": sub("petplatform-media-${Stage}"),
            "SecurityHeadersConfig": {
                "ContentTypeOptions": {"Override": true},
                "ContentSecurityPolicy": {"ContentSecurityPolicy": CONTENT_SECURITY_POLICY, "Override": true},
                "ReferrerPolicy": {"ReferrerPolicy": REFERRER_POLICY, "Override": true},
                "StrictTransportSecurity": {"AccessControlMaxAgeSec": 31_536_000, "IncludeSubdomains": true, "Override": true}
            }
        }}
    }));
    // Each presigned URL is its own cache key: the query (signature, pinned type) is forwarded.
    resources.insert(
        "MediaCachePolicy".into(),
        json!({
            "Type": "AWS::CloudFront::CachePolicy",
            "Properties": {"CachePolicyConfig": {
                "Name": sub("petplatform-media-${Stage}"),
                "DefaultTTL": 3600, "MaxTTL": 3600, "MinTTL": 0,
                "ParametersInCacheKeyAndForwardedToOrigin": {
                    "EnableAcceptEncodingGzip": false,
                    "HeadersConfig": {"HeaderBehavior": "none"},
                    "CookiesConfig": {"CookieBehavior": "none"},
                    "QueryStringsConfig": {"QueryStringBehavior": "all"}
                }
            }}
        }),
    );
    resources.insert(
        "MediaDistribution".into(),
        json!({
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {"DistributionConfig": {
                "Enabled": true,
                "Comment": sub("petplatform ${Stage} media"),
                "HttpVersion": "http2and3",
                "Origins": [{
                    "Id": "media",
                    "DomainName": get_att("MediaBucket", "RegionalDomainName"),
                    "S3OriginConfig": {"OriginAccessIdentity": ""}
                }],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "media",
                    "ViewerProtocolPolicy": "https-only",
                    "AllowedMethods": ["GET", "HEAD"],
                    "CachePolicyId": r("MediaCachePolicy"),
                    "ResponseHeadersPolicyId": r("MediaResponseHeaders")
                }
            }}
        }),
    );
}

fn sample_path(route: &Route) -> String {
    route
        .path
        .split('/')
        .map(|seg| if seg.starts_with('{') { "01JD3K4Q5R6S7T8V9W0XYZABCD" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn sample_event(f: &Function) -> Value {
    match &f.trigger {
        Trigger::Http(route) => {
            let path = sample_path(route);
            let params = shared::routes::match_path(route.path, &path).unwrap_or_default();
            let mut headers = vec![
                ("host".to_string(), "api.petplatform.local".to_string()),
                ("user-agent".to_string(), "cargo-lambda".to_string()),
                ("accept".to_string(), "application/json".to_string()),
            ];
            let body = route.doc.example.map(|b| b.as_bytes().to_vec()).unwrap_or_default();
            if !body.is_empty() {
                headers.push(("content-type".into(), "application/json".into()));
            }
            let req = IncomingRequest {
                method: route.method.as_str().to_string(),
                path,
                raw_query: String::new(),
                headers,
                body,
                source_ip: "127.0.0.1".into(),
                request_id: "sample-request-id".into(),
                time_epoch_ms: 1_763_726_400_000,
            };
            http_event(route, &req, &params)
        }
        Trigger::Sqs(w) => json!({"Records": [{
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "sample-receipt-handle",
            "body": w.example,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1763726400000", "SenderId": crate::sqs::ACCOUNT_ID, "ApproximateFirstReceiveTimestamp": "1763726400001"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:us-east-1:{}:{}", crate::sqs::ACCOUNT_ID, w.queue.name),
            "awsRegion": "us-east-1"
        }]}),
        Trigger::Stream(_) => json!({"Records": [{
            "eventID": "7de3041dd709b024af6f29e4fa13d34c",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "eventSourceARN": format!("arn:aws:dynamodb:us-east-1:{}:table/petplatform/stream/2025-11-21T12:00:00.000", crate::sqs::ACCOUNT_ID),
            "dynamodb": {
                "ApproximateCreationDateTime": 1_763_726_400.0,
                "Keys": {"PK": {"S": "OUTBOX#01JD3K4Q5R6S7T8V9W0XYZABCD"}, "SK": {"S": "MESSAGE"}},
                "NewImage": {
                    "PK": {"S": "OUTBOX#01JD3K4Q5R6S7T8V9W0XYZABCD"}, "SK": {"S": "MESSAGE"},
                    "entityType": {"S": "OutboxMessage"},
                    "id": {"S": "01JD3K4Q5R6S7T8V9W0XYZABCD"},
                    "queue": {"S": "mail"},
                    "body": {"S": r#"{"to":"someone@example.com","subject":"Welcome","text":"Hello!","dedupKey":"welcome:01JD3K4Q5R6S7T8V9W0XYZABCD"}"#},
                    "expires": {"N": "1763812800"},
                    "expiresAt": {"N": "1763812800"}
                },
                "SequenceNumber": "000000000000000000001",
                "SizeBytes": 420,
                "StreamViewType": "NEW_IMAGE"
            }
        }]}),
        Trigger::WebSocket(ws) => {
            let domain = "abcdef1234.execute-api.us-east-1.amazonaws.com";
            let connection = "L0SM9cOFvHcCIhw=";
            let mut event = match ws.route_key {
                "$connect" => {
                    let query = std::collections::HashMap::from([("ticket".to_string(), "sample-ticket".to_string())]);
                    let mut headers = http::HeaderMap::new();
                    headers.insert(
                        "host",
                        http::HeaderValue::from_static("abcdef1234.execute-api.us-east-1.amazonaws.com"),
                    );
                    headers.insert("user-agent", http::HeaderValue::from_static("cargo-lambda"));
                    crate::websocket::connect_event(domain, connection, &query, &headers, "127.0.0.1")
                }
                "$disconnect" => {
                    crate::websocket::disconnect_event(domain, connection, 1_763_726_400_000, 1000, "Client closed")
                }
                key => crate::websocket::message_event(
                    domain,
                    key,
                    connection,
                    1_763_726_400_000,
                    ws.example.unwrap_or("{}"),
                ),
            };
            // Fixed ids and times, so that the samples only change when the functions do.
            let c = &mut event["requestContext"];
            for (k, v) in [
                ("extendedRequestId", "sample-extended-request-id"),
                ("requestId", "sample-request-id"),
                ("requestTime", "21/Nov/2025:12:00:00 +0000"),
            ] {
                c[k] = json!(v);
            }
            c["requestTimeEpoch"] = json!(1_763_726_400_000i64);
            c["connectedAt"] = json!(1_763_726_400_000i64);
            if c.get("messageId").is_some() {
                c["messageId"] = json!("sample-message-id");
            }
            event
        }
        Trigger::Schedule(j) => json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": crate::sqs::ACCOUNT_ID,
            "time": "2025-11-21T12:00:00Z",
            "region": "us-east-1",
            "resources": [format!("arn:aws:events:us-east-1:{}:rule/petplatform-{}", crate::sqs::ACCOUNT_ID, j.name)],
            "detail": {}
        }),
    }
}

fn yaml(v: &Value) -> String {
    let body = serde_yaml::to_string(v).expect("JSON values serialise as YAML");
    format!("# Generated by `cargo run -p local-stack --bin gen-infra` from the route table. Do not edit.\n{body}")
}

fn access_name(a: shared::routes::Access) -> &'static str {
    match a {
        shared::routes::Access::Public => "public",
        shared::routes::Access::User => "user",
        shared::routes::Access::Admin => "admin",
        shared::routes::Access::PasswordChange => "user (or password-change token)",
        shared::routes::Access::Role(r) => r.callers,
    }
}

/// The README's tables of endpoints and of the other functions, from the declarations.
pub fn readme_tables(domains: &[Domain]) -> String {
    let mut t = String::from("| method | path | access | function | what it does |\n|---|---|---|---|---|\n");
    for (f, r) in domains.iter().flat_map(|d| d.routes()) {
        t.push_str(&format!(
            "| {} | `{}` | {} | `{}` | {} |\n",
            r.method.as_str(),
            r.path,
            access_name(r.access),
            f.binary,
            r.doc.summary
        ));
    }
    t.push_str("\n| function | trigger | what it does |\n|---|---|---|\n");
    for f in domains.iter().flat_map(|d| d.functions.iter()) {
        let trigger = match &f.trigger {
            Trigger::Http(_) => continue,
            Trigger::Sqs(w) => format!(
                "SQS `{}` (DLQ `{}` after {} receives)",
                w.queue.name,
                w.queue.dlq_name(),
                w.queue.max_receive_count
            ),
            Trigger::Schedule(j) => format!("`{}`", j.schedule),
            Trigger::WebSocket(ws) => format!("WebSocket route `{}`", ws.route_key),
            Trigger::Stream(c) => format!(
                "the table's stream (failures to `{}` after {} retries)",
                c.failure_queue.dlq_name(),
                c.max_retries
            ),
        };
        t.push_str(&format!("| `{}` | {trigger} | {} |\n", f.binary, f.summary()));
    }
    t
}

pub const README_START: &str = "<!-- functions:start (generated by gen-infra from the route table) -->";
pub const README_END: &str = "<!-- functions:end -->";

/// `readme` with the generated tables between the markers.
pub fn with_tables(readme: &str, domains: &[Domain]) -> Option<String> {
    let start = readme.find(README_START)? + README_START.len();
    let end = readme.find(README_END)?;
    Some(format!("{}\n{}{}", &readme[..start], readme_tables(domains), &readme[end..]))
}

/// Every generated file, by path relative to the repository root.
pub fn render(domains: &[Domain]) -> BTreeMap<PathBuf, String> {
    let cors = Cors::from_config_file();
    let mut files = BTreeMap::new();
    files.insert(PathBuf::from("template.yaml"), yaml(&root_template(domains, &cors)));
    for d in domains {
        for (stem, funcs) in stacks_of(d) {
            files.insert(PathBuf::from(format!("infra/stacks/{stem}.yaml")), yaml(&nested_stack(&funcs)));
        }
        for f in functions(d) {
            let text = serde_json::to_string_pretty(&sample_event(f)).expect("events serialise") + "\n";
            files.insert(PathBuf::from(format!("events/{}.json", f.binary)), text);
        }
    }
    // The document the TypeScript client's types are generated from (`clients/typescript`).
    let openapi = shared::openapi::document(domains, env!("CARGO_PKG_VERSION")).to_pretty_json().expect("serialises");
    files.insert(PathBuf::from("clients/typescript/openapi.json"), openapi + "\n");
    // The WebSocket API's client frames, each route's sample (the client's frame types).
    let frames: Vec<Value> = domains
        .iter()
        .flat_map(|d| d.functions.iter())
        .filter_map(|f| f.websocket_route())
        .filter_map(|r| {
            let example: Value = serde_json::from_str(r.example?).ok()?;
            Some(json!({"action": r.route_key, "summary": r.summary, "example": example}))
        })
        .collect();
    let protocol = json!({"about": "Frames a client sends the WebSocket API (`action` routes them), one sample each; written by gen-infra from the route table.", "frames": frames});
    files.insert(
        PathBuf::from("clients/typescript/websocket.json"),
        serde_json::to_string_pretty(&protocol).expect("serialises") + "\n",
    );
    files
}

/// Resources a template has once SAM has expanded it: a function adds its role, an SQS event a
/// mapping, a schedule a rule and a permission.
pub fn deployed_resource_count(template: &Value) -> usize {
    let Some(resources) = template["Resources"].as_object() else { return 0 };
    resources
        .values()
        .map(|res| match res["Type"].as_str() {
            Some("AWS::Serverless::Function") => {
                let events = res["Properties"]["Events"].as_object().map(|e| {
                    e.values()
                        .map(|ev| match ev["Type"].as_str() {
                            Some("Schedule") => 2,
                            _ => 1,
                        })
                        .sum::<usize>()
                });
                // The function, its role, each event's resources, and SAM's EventInvokeConfig.
                let invoke_config = usize::from(res["Properties"]["EventInvokeConfig"].is_object());
                2 + events.unwrap_or(0) + invoke_config
            }
            _ => 1,
        })
        .sum()
}

/// Writes every generated file under `root` and removes generated files that no longer belong.
pub fn write_all(root: &Path) -> std::io::Result<Vec<String>> {
    let files = render(crate::catalog::DOMAINS);
    for dir in ["infra/stacks", "events"] {
        std::fs::create_dir_all(root.join(dir))?;
        for entry in std::fs::read_dir(root.join(dir))? {
            let path = entry?.path();
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if !files.contains_key(&rel) {
                std::fs::remove_file(&path)?;
            }
        }
    }
    let mut written = Vec::new();
    let readme = std::fs::read_to_string(root.join("README.md"))?;
    if let Some(updated) = with_tables(&readme, crate::catalog::DOMAINS) {
        std::fs::write(root.join("README.md"), updated)?;
        written.push("README.md (tables)".to_string());
    }
    for (rel, text) in &files {
        std::fs::write(root.join(rel), text)?;
        written.push(rel.display().to_string());
    }
    Ok(written)
}

/// The templates for deploying a fleet already built by `cargo lambda build --release --arm64`
/// (one cargo invocation for every function): the same stacks, each function's code taken
/// from `artifacts/<binary>/` instead of being built by `sam build` one function at a time.
/// Written under `out/` with the repository's layout, so `sam deploy -t out/template.yaml` works.
pub fn write_prebuilt(artifacts: &Path, out: &Path) -> std::io::Result<Vec<String>> {
    let cors = Cors::from_config_file();
    let artifacts = std::fs::canonicalize(artifacts)?;
    std::fs::create_dir_all(out.join("infra/stacks"))?;
    let mut written = Vec::new();
    let path = out.join("template.yaml");
    std::fs::write(&path, yaml(&root_template(crate::catalog::DOMAINS, &cors)))?;
    written.push(path.display().to_string());
    for d in crate::catalog::DOMAINS {
        for (stem, funcs) in stacks_of(d) {
            let mut stack = nested_stack(&funcs);
            for res in stack["Resources"].as_object_mut().into_iter().flat_map(|r| r.values_mut()) {
                let Some(binary) = res["Metadata"]["BuildProperties"]["Binary"].as_str().map(str::to_string) else {
                    continue;
                };
                // A zip is uploaded as it is; a folder holding `bootstrap` is zipped by SAM.
                let folder = artifacts.join(&binary);
                let code = match folder.join("bootstrap.zip") {
                    zip if zip.exists() => zip,
                    _ if folder.join("bootstrap").exists() => folder,
                    _ => return Err(std::io::Error::other(format!("{} is not built", folder.display()))),
                };
                if let Some(r) = res.as_object_mut() {
                    r.remove("Metadata");
                }
                res["Properties"]["CodeUri"] = json!(code.display().to_string());
            }
            let path = out.join(format!("infra/stacks/{stem}.yaml"));
            std::fs::write(&path, yaml(&stack))?;
            written.push(path.display().to_string());
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids() {
        assert_eq!(logical_id("mail-worker"), "MailWorker");
        assert_eq!(logical_id("health"), "Health");
        assert_eq!(logical_id("system-2"), "System2");
    }
}
