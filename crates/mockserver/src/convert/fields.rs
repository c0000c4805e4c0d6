//! The fields MockServer's JSON Schema allows at each level, and their check.

use super::*;

// The fields MockServer's expectation JSON Schema allows at each level it closes
// (`additionalProperties: false`), as in the mockserver-netty 8.0.0 jar the compatibility
// suite runs. A field outside these is refused as MockServer refuses it; a field inside
// them that standin does not implement is refused or ignored where it is read.
pub(crate) const EXPECTATION_FIELDS: &[&str] = &[
    "afterActions",
    "beforeActions",
    "binaryResponse",
    "capture",
    "chaos",
    "crossProtocolScenarios",
    "dnsResponse",
    "grpcBidiResponse",
    "grpcStreamResponse",
    "httpError",
    "httpForward",
    "httpForwardClassCallback",
    "httpForwardObjectCallback",
    "httpForwardTemplate",
    "httpForwardValidateAction",
    "httpForwardWithFallback",
    "httpLlmResponse",
    "httpOverrideForwardedRequest",
    "httpRequest",
    "httpResponse",
    "httpResponseClassCallback",
    "httpResponseObjectCallback",
    "httpResponseTemplate",
    "httpResponses",
    "httpSseResponse",
    "httpWebSocketResponse",
    "id",
    "namespace",
    "newScenarioState",
    "percentage",
    "priority",
    "rateLimit",
    "responseMode",
    "responseWeights",
    "scenarioName",
    "scenarioState",
    "steps",
    "switchAfter",
    "timeToLive",
    "times",
    "timestamp",
];
pub(crate) const REQUEST_FIELDS: &[&str] = &[
    "body",
    "clientCertificate",
    "clientCertificateChain",
    "cookies",
    "headers",
    "jwt",
    "keepAlive",
    "localAddress",
    "method",
    "not",
    "originalBody",
    "path",
    "pathParameters",
    "protocol",
    "queryStringParameters",
    "remoteAddress",
    "respondBeforeBody",
    "secure",
    "socketAddress",
    // The other kind of request definition: an OpenAPI operation.
    "specUrlOrPayload",
    "operationId",
];
pub(crate) const RESPONSE_FIELDS: &[&str] = &[
    "body",
    "connectionOptions",
    "cookies",
    "delay",
    "generateFromSchema",
    "headers",
    "primary",
    "reasonPhrase",
    "recoverAfter",
    "statusCode",
    "statusCodeRange",
    "trailers",
];
pub(crate) const TIMES_FIELDS: &[&str] = &["remainingTimes", "unlimited"];
pub(crate) const TIME_TO_LIVE_FIELDS: &[&str] = &["endDate", "timeToLive", "timeUnit", "unlimited"];
pub(crate) const FORWARD_FIELDS: &[&str] = &["delay", "host", "port", "primary", "scheme"];
pub(crate) const ERROR_FIELDS: &[&str] = &[
    "delay",
    "dropConnection",
    "primary",
    "responseBytes",
    "streamError",
];
pub(crate) const TEMPLATE_FIELDS: &[&str] = &[
    "delay",
    "primary",
    "responseModifier",
    "responseOverride",
    "template",
    "templateFile",
    "templateType",
];

/// Refuses the first field of `obj` that MockServer's schema does not allow at this level.
pub(crate) fn known_fields(obj: &Map<String, Value>, pointer: &str, allowed: &[&str]) -> R<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(refuse(
            &format!("{pointer}/{}", standin_matcher::escape_pointer(k)),
            format!(
                "unknown field \"{k}\"; MockServer allows here: {}",
                allowed.join(", ")
            ),
        )),
    }
}
