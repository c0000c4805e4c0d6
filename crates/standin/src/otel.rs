//! Traces over OTLP/HTTP: the data plane hands each sampled mock request's span to
//! [`OtelSink`], which gives it to OpenTelemetry's batch span processor (a bounded queue:
//! a full queue drops spans, it never waits). The processor's thread exports batches
//! through our own hyper client, whose requests run on the control plane's runtime.

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer, TracerProvider,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};
use standin_server::trace::{MockSpan, SpanSink};
use std::time::Duration;

/// Sends the exporter's requests on a runtime that has a reactor (the processor's own
/// thread has none).
#[derive(Debug)]
struct Export {
    client: crate::client::HttpClient,
    rt: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Export {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(body));
        let client = self.client.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.rt.spawn(async move {
            let answer = async {
                let r = tokio::time::timeout(Duration::from_secs(10), client.request(request))
                    .await
                    .map_err(|_| "the collector did not answer within 10 s".to_string())?
                    .map_err(|e| e.to_string())?;
                let (parts, body) = r.into_parts();
                let body = http_body_util::Limited::new(body, 1 << 20)
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes();
                Ok::<_, String>(http::Response::from_parts(parts, body))
            }
            .await;
            let _ = tx.send(answer);
        });
        match rx.await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err("the control runtime stopped".into()),
        }
    }
}

thread_local! {
    /// The ids the next span built on this thread takes: the data plane chose them (its
    /// span id went to upstreams already), and the SDK asks its id generator for them.
    static NEXT_IDS: std::cell::Cell<Option<(TraceId, SpanId)>> = const { std::cell::Cell::new(None) };
}

/// Hands out the ids [`NEXT_IDS`] holds, or random ones.
#[derive(Debug, Default)]
struct ChosenIds(opentelemetry_sdk::trace::RandomIdGenerator);

impl opentelemetry_sdk::trace::IdGenerator for ChosenIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_IDS
            .with(|n| n.get().map(|(t, _)| t))
            .unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        NEXT_IDS
            .with(|n| n.get().map(|(_, s)| s))
            .unwrap_or_else(|| self.0.new_span_id())
    }
}

/// Where spans go, and the provider to flush at shutdown.
pub struct OtelSink {
    tracer: SdkTracer,
}

/// Starts the exporter: `endpoint` is the collector's base URL (`/v1/traces` is added
/// unless it is there).
pub fn start(
    endpoint: &str,
    json: bool,
    rt: tokio::runtime::Handle,
) -> anyhow::Result<(OtelSink, SdkTracerProvider)> {
    let endpoint = endpoint.trim_end_matches('/');
    let url = if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{endpoint}/v1/traces")
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url.clone())
        .with_protocol(if json {
            Protocol::HttpJson
        } else {
            Protocol::HttpBinary
        })
        .with_timeout(Duration::from_secs(10))
        .with_http_client(Export {
            client: crate::client::client()?,
            rt,
        })
        .build()
        .with_context(|| format!("the OTLP exporter for {url}"))?;
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(Duration::from_millis(500))
                .with_max_queue_size(16 * 1024)
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_id_generator(ChosenIds::default())
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("standin")
                .build(),
        )
        .build();
    let tracer = provider.tracer("standin");
    Ok((OtelSink { tracer }, provider))
}

impl SpanSink for OtelSink {
    fn record(&self, s: MockSpan) {
        let c = &s.context;
        let trace_id = TraceId::from_bytes(c.trace_id);
        let parent = match c.parent {
            Some(p) => Context::new().with_remote_span_context(SpanContext::new(
                trace_id,
                SpanId::from_bytes(p),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            )),
            None => Context::new(),
        };
        let mut attributes = vec![
            KeyValue::new("http.request.method", s.method.clone()),
            KeyValue::new("url.path", s.path),
            KeyValue::new("http.response.status_code", i64::from(s.status)),
            KeyValue::new("standin.delay_ms", s.delay_ms as i64),
        ];
        if let Some(svc) = &s.service {
            attributes.push(KeyValue::new("standin.service", svc.to_string()));
        }
        if let Some(route) = &s.route {
            attributes.push(KeyValue::new("standin.route", route.to_string()));
        }
        if let Some(e) = s.error {
            attributes.push(KeyValue::new("standin.error", e));
        }
        let name = match &s.service {
            Some(svc) => format!("{} {svc}", s.method),
            None => s.method,
        };
        let builder = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_start_time(s.start)
            .with_attributes(attributes);
        NEXT_IDS.with(|n| n.set(Some((trace_id, SpanId::from_bytes(c.span_id)))));
        let mut span = self.tracer.build_with_context(builder, &parent);
        NEXT_IDS.with(|n| n.set(None));
        if s.status >= 500 {
            span.set_status(Status::error(s.error.unwrap_or("5xx")));
        }
        // Ending queues it for export (the processor's queue drops when full).
        span.end_with_timestamp(s.end);
    }
}
