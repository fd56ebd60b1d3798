//! The OpenAPI 3.1 document, generated from the route table: every route with its parameters,
//! request and response schemas, error responses and security.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Required,
    ResponseBuilder, ResponsesBuilder,
};

use crate::error::Problem;
use crate::routes::{Access, Domain, Method, ParamKind, schema};

fn http_method(m: Method) -> HttpMethod {
    match m {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
    }
}

fn success_description(status: u16) -> &'static str {
    match status {
        201 => "Created.",
        202 => "Accepted; the rest happens shortly.",
        204 => "Done.",
        _ => "OK.",
    }
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "The request is not valid (see `code` and `errors`).",
        401 => "Missing, invalid or expired access token.",
        403 => "The caller may not do this.",
        404 => "Not found.",
        409 => "Conflicts with the current state.",
        413 => "The body is too large.",
        415 => "The body is not JSON.",
        422 => "The `Idempotency-Key` was used with another request (another path or body): `IDEMPOTENCY_KEY_REUSED`.",
        423 => "The account is locked.",
        429 => {
            "Too many requests (a per-user limit of writes per route and minute, or a per-address limit); see `Retry-After`."
        }
        402 => "The payment provider refused the payment (`code`, `providerCode`, `providerMessage`).",
        503 => "A dependency did not answer in time; send the same request again after `Retry-After`.",
        _ => "Something went wrong on our side.",
    }
}

fn param_schema(kind: ParamKind, required: bool) -> utoipa::openapi::Object {
    use utoipa::openapi::ObjectBuilder;
    use utoipa::openapi::schema::Type;
    match kind {
        // A required text must say something: not empty, not only blanks.
        ParamKind::Text if required => {
            ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).pattern(Some(r"\S")).build()
        }
        ParamKind::Text => ObjectBuilder::new().schema_type(Type::String).build(),
        ParamKind::Integer { min, max } => {
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(min as f64)).maximum(Some(max as f64)).build()
        }
        ParamKind::OneOf(values) => {
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())).build()
        }
    }
}

/// The codes the kernel itself answers with, by status (whatever the route).
const KERNEL_CODES: &[(u16, &str)] = &[
    (400, "VALIDATION_FAILED"),
    (400, "MALFORMED_JSON"),
    (400, "BODY_REQUIRED"),
    (400, "INVALID_CURSOR"),
    (401, "AUTHENTICATION_REQUIRED"),
    (401, "INVALID_TOKEN"),
    (401, "TOKEN_EXPIRED"),
    (401, "SESSION_REVOKED"),
    (401, "ACCOUNT_NOT_FOUND"),
    (401, "ACCOUNT_WITHDRAWN"),
    (401, "ACCOUNT_DEACTIVATED"),
    (403, "ACCOUNT_BLOCKED"),
    (403, "ADMIN_ONLY"),
    (413, "PAYLOAD_TOO_LARGE"),
    (429, "RATE_LIMITED"),
    (500, "INTERNAL_ERROR"),
    (503, "BUSY"),
];

/// The `code` values an operation's error response of `status` may carry: the kernel's, the
/// idempotency key's when the route takes one, and its domain's.
fn codes_of(status: u16, domain: &Domain, idempotent: bool) -> Vec<&'static str> {
    let idempotency: &[(u16, &str)] =
        &[(400, "INVALID_IDEMPOTENCY_KEY"), (409, "IDEMPOTENCY_HELD"), (422, "IDEMPOTENCY_KEY_REUSED")];
    let mut out: Vec<&str> = KERNEL_CODES
        .iter()
        .chain(idempotency.iter().filter(|_| idempotent))
        .chain(domain.errors.iter().flat_map(|e| e.iter()))
        .filter(|(s, _)| *s == status)
        .map(|(_, c)| *c)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

pub fn document(domains: &[Domain], version: &str) -> OpenApi {
    let mut schemas = Vec::new();
    let problem = schema::<Problem>(&mut schemas);
    let mut paths = PathsBuilder::new();
    for (domain, function, route) in domains.iter().flat_map(|d| d.routes().map(move |(f, r)| (d, f, r))) {
        let doc = &route.doc;
        let mut op =
            OperationBuilder::new().operation_id(Some(function.binary)).summary(Some(doc.summary)).tag(doc.tag);
        for (i, seg) in route.path.split('/').enumerate() {
            let _ = i;
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(
                    ParameterBuilder::new().name(name).parameter_in(ParameterIn::Path).required(Required::True).schema(
                        Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String)),
                    ),
                );
            }
        }
        for q in doc.query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(q.name)
                    .parameter_in(ParameterIn::Query)
                    .required(if q.required { Required::True } else { Required::False })
                    .description(Some(q.description))
                    .schema(Some(param_schema(q.kind, q.required))),
            );
        }
        if route.takes_idempotency_key() {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "Makes a retry safe: the first response to a key is answered again for 24 hours and \
                         nothing new is created; the same key with another body is a 400, and a retry while \
                         the first is still running a 409.",
                    ))
                    .schema(Some(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::String)
                            .min_length(Some(1))
                            .max_length(Some(255)),
                    )),
            );
        }
        if let Some(body) = (route.endpoint.request)(&mut schemas) {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", ContentBuilder::new().schema(Some(body)).build())
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        // Success answers: the handler's return type gives status and schema; a hand-declared
        // answer of the same status lends its description, and declares what the type cannot.
        let mut answers: Vec<(u16, String, Option<utoipa::openapi::RefOr<utoipa::openapi::Schema>>)> =
            (route.endpoint.replies)(&mut schemas)
                .into_iter()
                .map(|r| (r.status, success_description(r.status).to_string(), r.body))
                .collect();
        for r in doc.responses {
            let body = r.body.map(|b| b(&mut schemas));
            match answers.iter_mut().find(|a| a.0 == r.status) {
                Some(a) => a.1 = r.description.to_string(),
                None => answers.push((r.status, r.description.to_string(), body)),
            }
        }
        let mut responses = ResponsesBuilder::new();
        for (status, description, body) in answers {
            let mut rb = ResponseBuilder::new().description(description);
            if let Some(body) = body {
                rb = rb.content("application/json", ContentBuilder::new().schema(Some(body)).build());
            }
            responses = responses.response(status.to_string(), rb.build());
        }
        // A busy table (or provider) answers 503 with Retry-After, anywhere.
        let mut errors: Vec<u16> = vec![400, 500, 503];
        if route.access != Access::Public {
            errors.extend([401, 403]);
            if route.method.is_write() {
                errors.push(429); // the per-user write limit
            }
        }
        errors.extend(doc.errors);
        if route.takes_idempotency_key() {
            errors.push(409); // an Idempotency-Key still in use
            errors.push(422); // an Idempotency-Key used with another request
        }
        // Whatever a path names may not exist.
        if route.path.contains('{') {
            errors.push(404);
        }
        errors.sort_unstable();
        errors.dedup();
        for status in errors {
            let codes = codes_of(status, domain, route.takes_idempotency_key());
            let description = match codes.is_empty() {
                true => error_description(status).to_string(),
                false => format!(
                    "{} `code` is one of: {}.",
                    error_description(status),
                    codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            responses = responses.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", ContentBuilder::new().schema(Some(problem.clone())).build())
                    .build(),
            );
        }
        op = op.responses(responses.build());
        if route.access != Access::Public {
            op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        paths = paths.path(route.path, PathItem::new(http_method(route.method), op.build()));
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    // Two types with one name would share one schema in the document, and clients would read one
    // as the other: a name is one schema.
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for (name, s) in &schemas {
        let text = serde_json::to_string(s).unwrap_or_default();
        if let Some(before) = seen.insert(name.clone(), text.clone()) {
            assert_eq!(before, text, "two different types are both named {name} in the OpenAPI document: rename one");
        }
    }
    for (name, s) in schemas {
        components = components.schema(name, s);
    }
    // Every tag a route is filed under, described by the domain that names it.
    let mut tags: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for d in domains {
        for t in d.tags {
            tags.entry(t.name).or_insert(t.description);
        }
    }
    let tags: Vec<utoipa::openapi::tag::Tag> = tags
        .into_iter()
        .map(|(name, description)| {
            utoipa::openapi::tag::TagBuilder::new().name(name).description(Some(description)).build()
        })
        .collect();
    OpenApiBuilder::new()
        .tags(Some(tags))
        .info(
            InfoBuilder::new()
                .title("Pet platform API")
                .version(version)
                .description(Some(
                    "Pets, a diary, a second-hand market with payments, real-time chat, influencer campaigns, \
                     pet health care and a community board, each endpoint an AWS Lambda function.\n\n\
                     **Try it**: sign up with `POST /auth/signup`, read the code from your mail (locally \
                     `GET /_local/mail?to=<address>`), verify with `POST /auth/email/verify`, sign in with \
                     `POST /auth/login`, then give the `accessToken` as the bearer token (on the reference page: *Authentication*, *Bearer Token*).\n\n\
                     **Errors** are `application/problem+json` with a stable `code` (each response lists \
                     the codes it may carry); lists answer `{items, nextCursor}` (pass `nextCursor` back as \
                     `?cursor=`). Real time is the WebSocket API: take a ticket with `POST /realtime/tickets`.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}
