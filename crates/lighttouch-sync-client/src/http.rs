//! The HTTP transport (reqwest). The only place the core speaks HTTP.

use crate::engine::{Transport, TransportError};
use lighttouch_protocol::{
    paths, ApiError, LoginRequest, LoginResponse, PullRequest, PullResponse, PushRequest,
    PushResponse, ReregisterRequest, PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    pub fn new() -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("lighttouch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TransportError::Protocol(e.to_string()))?;
        Ok(HttpTransport { client })
    }

    async fn post<Req: Serialize, Resp: DeserializeOwned + Send + 'static>(
        &self,
        server: &str,
        path: &str,
        token: Option<&str>,
        body: &Req,
    ) -> Result<Resp, TransportError> {
        let url = format!("{}{}", server.trim_end_matches('/'), path);
        let mut request = self
            .client
            .post(&url)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        // On its own task: reading and parsing a page overlaps with the book
        // applying the previous one (on a multi-threaded runtime).
        tokio::spawn(Self::send(request))
            .await
            .map_err(|e| TransportError::Protocol(e.to_string()))?
    }

    async fn send<Resp: DeserializeOwned>(
        request: reqwest::RequestBuilder,
    ) -> Result<Resp, TransportError> {
        let response = request.send().await.map_err(|e| {
            if e.is_connect() || e.is_timeout() || e.is_request() {
                TransportError::Unreachable(e.to_string())
            } else {
                TransportError::Protocol(e.to_string())
            }
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| TransportError::Protocol(e.to_string()))
        } else {
            let error = serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| {
                ApiError::new(
                    lighttouch_protocol::codes::INTERNAL,
                    format!("the server answered {status}"),
                )
            });
            Err(TransportError::Api {
                status: status.as_u16(),
                error,
            })
        }
    }
}

impl Transport for HttpTransport {
    async fn login(
        &self,
        server: &str,
        request: &LoginRequest,
    ) -> Result<LoginResponse, TransportError> {
        self.post(server, paths::LOGIN, None, request).await
    }

    async fn push(
        &self,
        server: &str,
        token: &str,
        request: &PushRequest,
    ) -> Result<PushResponse, TransportError> {
        self.post(server, paths::PUSH, Some(token), request).await
    }

    async fn pull(
        &self,
        server: &str,
        token: &str,
        request: &PullRequest,
    ) -> Result<PullResponse, TransportError> {
        self.post(server, paths::PULL, Some(token), request).await
    }

    async fn reregister(
        &self,
        server: &str,
        token: &str,
        request: &ReregisterRequest,
    ) -> Result<LoginResponse, TransportError> {
        self.post(server, paths::REREGISTER, Some(token), request)
            .await
    }
}
