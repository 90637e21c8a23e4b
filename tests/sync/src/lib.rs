//! Shared pieces of the cross-crate sync tests and the simulation: a server
//! on a real socket, and a transport that calls the server's sync rules
//! in-process (so a simulation step can drop, duplicate or cut a request).

pub mod buggy;

use chrono::{DateTime, Utc};
use lighttouch_book::Book;
use lighttouch_protocol::*;
use lighttouch_server::routes::{router, AppState};
use lighttouch_server::storage::Storage;
use lighttouch_server::sync::Clock;
use lighttouch_sync_client::{Transport, TransportError};
use lighttouch_transfer::export::ExportFormat;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The server's clock in tests: set by hand.
pub struct ServerClock(pub Mutex<DateTime<Utc>>);

impl Clock for ServerClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Serves the real router on 127.0.0.1, port 0, until the runtime ends.
pub async fn serve(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app =
        router(AppState::new(storage, clock)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

/// A book's whole content as JSON, without what is local to one replica:
/// the export time, and erased customers' tombstones (a device that joined
/// after the log was compacted never hears of an erased customer at all;
/// either way, nothing of the customer is left).
pub fn snapshot(book: &Book) -> Value {
    let mut out = Vec::new();
    lighttouch_transfer::export::export(book, None, ExportFormat::Json, &mut out).unwrap();
    let mut v: Value = serde_json::from_slice(&out).unwrap();
    v.as_object_mut().unwrap().remove("exported_at");
    if let Some(customers) = v["customers"].as_array_mut() {
        customers.retain(|c| c["erased_at"].is_null());
        for c in customers.iter_mut() {
            c["erased_at"] = Value::Bool(false);
        }
    }
    v
}

/// Calls the server's sync rules directly, as the HTTP handlers do.
pub struct InProcess {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
}

fn api(e: ApiError) -> TransportError {
    TransportError::Api {
        status: 400,
        error: e,
    }
}

impl InProcess {
    async fn device(
        &self,
        token: &str,
    ) -> Result<lighttouch_server::storage::DeviceAuth, TransportError> {
        self.storage
            .device_by_token(
                &lighttouch_server::auth::token_hash(token),
                self.clock.now(),
            )
            .await
            .map_err(|e| TransportError::Protocol(e.to_string()))?
            .ok_or_else(|| TransportError::Api {
                status: 401,
                error: ApiError::new(codes::UNAUTHORIZED, "revoked"),
            })
    }
}

impl Transport for InProcess {
    async fn login(
        &self,
        _server: &str,
        request: &LoginRequest,
    ) -> Result<LoginResponse, TransportError> {
        let user = self
            .storage
            .user(&request.username)
            .await
            .map_err(|e| TransportError::Protocol(e.to_string()))?
            .ok_or_else(|| api(ApiError::new(codes::UNAUTHORIZED, "no user")))?;
        let token = lighttouch_server::auth::new_token();
        let device_id = self
            .storage
            .register_device(
                request.device_id,
                uuid::Uuid::now_v7(),
                user.id,
                &request.device_name,
                &lighttouch_server::auth::token_hash(&token),
                self.clock.now(),
            )
            .await
            .map_err(|e| TransportError::Protocol(e.to_string()))?;
        Ok(LoginResponse {
            token,
            device_id: Some(device_id),
            user: user.info(),
            server_time: self.clock.now(),
            cursor: None,
        })
    }

    async fn push(
        &self,
        _server: &str,
        token: &str,
        request: &PushRequest,
    ) -> Result<PushResponse, TransportError> {
        let device = self.device(token).await?;
        lighttouch_server::sync::push(self.storage.as_ref(), &device, request, self.clock.now())
            .await
            .map_err(api)
    }

    async fn pull(
        &self,
        _server: &str,
        token: &str,
        request: &PullRequest,
    ) -> Result<PullResponse, TransportError> {
        let device = self.device(token).await?;
        let page = lighttouch_server::sync::pull(
            self.storage.as_ref(),
            &device,
            request,
            self.clock.now(),
        )
        .await
        .map_err(api)?;
        // Through the wire format, as over HTTP: the server sends values as
        // it stored them, the client parses them.
        let json =
            serde_json::to_vec(&page).map_err(|e| TransportError::Protocol(e.to_string()))?;
        serde_json::from_slice(&json).map_err(|e| TransportError::Protocol(e.to_string()))
    }

    async fn reregister(
        &self,
        _server: &str,
        token: &str,
        request: &ReregisterRequest,
    ) -> Result<LoginResponse, TransportError> {
        let device = self.device(token).await?;
        let token = lighttouch_server::auth::new_token();
        let cursor = lighttouch_server::sync::reregister(
            self.storage.as_ref(),
            &device,
            request,
            &request.device_name,
            &lighttouch_server::auth::token_hash(&token),
            self.clock.now(),
        )
        .await
        .map_err(api)?;
        Ok(LoginResponse {
            token,
            device_id: Some(request.device_id),
            user: device.user_info(),
            server_time: self.clock.now(),
            cursor,
        })
    }
}
