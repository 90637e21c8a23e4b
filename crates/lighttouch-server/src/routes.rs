//! The HTTP edge: routes, authentication, protocol version, body limits and
//! `{code, message}` errors. Handlers only translate; the rules are in
//! `crate::sync` and `crate::admin`.

use crate::admin::{Admin, AdminError};
use crate::auth::{new_token, token_hash, verify_password, LoginLimiter};
use crate::storage::{DeviceAuth, Storage, StorageError};
use crate::sync::{self, storage_error, Clock};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lighttouch_protocol::{
    codes, paths, ApiError, LoginRequest, LoginResponse, MeResponse, PullRequest, PushRequest,
    ReassignRequest, ReassignResponse, Role, UserInfo, MAX_BODY_BYTES, OLDEST_SUPPORTED_PROTOCOL,
    PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    pub admin: Arc<Admin>,
    pub limiter: Arc<LoginLimiter>,
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        AppState {
            admin: Arc::new(Admin::new(storage.clone(), clock.clone())),
            storage,
            clock,
            limiter: Arc::new(LoginLimiter::new(10, Duration::from_secs(300))),
        }
    }
}

/// An error answer: an HTTP status and the `{code, message}` body.
#[derive(Debug)]
pub struct Failure(StatusCode, ApiError);

impl Failure {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Failure(status, ApiError::new(code, message))
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        let status = match e.code.as_str() {
            codes::INVALID => StatusCode::BAD_REQUEST,
            codes::UNAUTHORIZED => StatusCode::UNAUTHORIZED,
            codes::FORBIDDEN => StatusCode::FORBIDDEN,
            codes::NOT_FOUND => StatusCode::NOT_FOUND,
            codes::SEQ_GAP => StatusCode::CONFLICT,
            codes::PLEASE_UPDATE => StatusCode::UPGRADE_REQUIRED,
            codes::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, e)
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Storage(s) => storage_error(s).into(),
            AdminError::Forbidden(m) => Failure::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, m),
            other => Failure::new(StatusCode::BAD_REQUEST, codes::INVALID, other.to_string()),
        }
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        storage_error(e).into()
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// A JSON body whose problems answer as `{code, message}`.
async fn body<T: DeserializeOwned>(bytes: Bytes) -> Result<T, Failure> {
    serde_json::from_slice(&bytes).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID,
            format!("bad request body: {e}"),
        )
    })
}

/// The device behind the request's bearer token.
pub struct Device(pub DeviceAuth);

impl FromRequestParts<AppState> for Device {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let unauthorized = || {
            Failure::new(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHORIZED,
                "sign in again: this device's token is missing, wrong or revoked",
            )
        };
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(unauthorized)?;
        let auth = state
            .storage
            .device_by_token(&token_hash(token.trim()), state.clock.now())
            .await?
            .ok_or_else(unauthorized)?;
        Ok(Device(auth))
    }
}

/// Refuses clients older than this server serves before anything else runs.
async fn protocol_gate(request: Request, next: Next) -> Response {
    let version = request
        .headers()
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok());
    let mut response = match version {
        None if request.uri().path() != paths::HEALTH => Failure::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID,
            format!("every request names its protocol version in the {PROTOCOL_HEADER} header"),
        )
        .into_response(),
        Some(v) if v < OLDEST_SUPPORTED_PROTOCOL => Failure::new(
            StatusCode::UPGRADE_REQUIRED,
            codes::PLEASE_UPDATE,
            "this version of Lighttouch is too old for the server: please update the app",
        )
        .into_response(),
        _ => next.run(request).await,
    };
    response
        .headers_mut()
        .insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL_VERSION));
    response
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::LOGIN, post(login))
        .route(paths::LOGOUT, post(logout))
        .route(paths::ME, get(me))
        .route(paths::PUSH, post(push))
        .route(paths::PULL, post(pull))
        .route(paths::ADMIN_DEVICES, get(admin_devices))
        .route(paths::ADMIN_REASSIGN, post(admin_reassign))
        .layer(middleware::from_fn(protocol_gate))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"ok": true, "protocol": PROTOCOL_VERSION, "storage": state.storage.kind()}),
    )
}

/// The client's address, when the server was started with connect info.
pub struct Peer(String);

impl FromRequestParts<AppState> for Peer {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Failure> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".into(), |c| c.0.ip().to_string()),
        ))
    }
}

async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    bytes: Bytes,
) -> Result<Json<LoginResponse>, Failure> {
    let req: LoginRequest = body(bytes).await?;
    let now = Instant::now();
    let keys = [
        format!("user:{}", req.username.trim()),
        format!("ip:{peer}"),
    ];
    if keys.iter().any(|k| state.limiter.is_blocked(k, now)) {
        return Err(Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::RATE_LIMITED,
            "too many failed sign-ins; wait a few minutes and try again",
        ));
    }
    let user = state.storage.user(req.username.trim()).await?;
    // Verify even for an unknown user, so timing does not tell which names exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(dummy_hash);
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        for k in &keys {
            state.limiter.record_failure(k, now);
        }
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "wrong username or password",
        ));
    };
    for k in &keys {
        state.limiter.record_success(k);
    }
    let device_name: String = req.device_name.trim().chars().take(100).collect();
    let token = new_token();
    state
        .storage
        .register_device(
            req.device_id,
            user.id,
            &device_name,
            &token_hash(&token),
            state.clock.now(),
        )
        .await?;
    let _ = state
        .storage
        .audit(
            &user.username,
            "device.login",
            &serde_json::json!({"device": req.device_id, "name": device_name}),
            state.clock.now(),
        )
        .await;
    Ok(Json(LoginResponse {
        token,
        user: UserInfo {
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            store: user.store,
        },
        server_time: state.clock.now(),
    }))
}

/// An argon2id hash of a random password, verified against when the user is unknown.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::auth::hash_password(&new_token()).unwrap_or_default())
        .clone()
}

async fn logout(
    State(state): State<AppState>,
    parts: axum::http::HeaderMap,
) -> Result<StatusCode, Failure> {
    if let Some(token) = parts
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
    {
        state
            .storage
            .revoke_token(&token_hash(token.trim()), state.clock.now())
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, Device(d): Device) -> Json<MeResponse> {
    Json(MeResponse {
        device_id: d.device_id,
        user: UserInfo {
            username: d.username,
            display_name: d.display_name,
            role: d.role,
            store: d.store,
        },
        server_time: state.clock.now(),
    })
}

async fn push(
    State(state): State<AppState>,
    Device(d): Device,
    bytes: Bytes,
) -> Result<Response, Failure> {
    let req: PushRequest = body(bytes).await?;
    let resp = sync::push(state.storage.as_ref(), &d, &req, state.clock.now()).await?;
    Ok(Json(resp).into_response())
}

async fn pull(
    State(state): State<AppState>,
    Device(d): Device,
    bytes: Bytes,
) -> Result<Response, Failure> {
    let req: PullRequest = body(bytes).await?;
    let resp = sync::pull(state.storage.as_ref(), &d, &req, state.clock.now()).await?;
    Ok(Json(resp).into_response())
}

fn require_manager(d: &DeviceAuth) -> Result<(), Failure> {
    if matches!(d.role, Role::Manager | Role::Admin) {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::FORBIDDEN,
            codes::FORBIDDEN,
            "only a store manager or an HQ admin can do this",
        ))
    }
}

async fn admin_devices(
    State(state): State<AppState>,
    Device(d): Device,
) -> Result<Response, Failure> {
    require_manager(&d)?;
    // A manager sees their own store's devices; an HQ admin sees every store's.
    let store = (d.role == Role::Manager).then_some(d.store.as_str());
    Ok(Json(state.admin.devices(store).await?).into_response())
}

async fn admin_reassign(
    State(state): State<AppState>,
    Device(d): Device,
    bytes: Bytes,
) -> Result<Response, Failure> {
    require_manager(&d)?;
    let req: ReassignRequest = body(bytes).await?;
    if d.role == Role::Manager {
        for name in [&req.from, &req.to] {
            let same_store = state
                .storage
                .user(name)
                .await?
                .is_some_and(|u| u.store_id == d.store_id);
            if !same_store {
                return Err(Failure::new(
                    StatusCode::FORBIDDEN,
                    codes::FORBIDDEN,
                    format!("{name} is not in your store"),
                ));
            }
        }
    }
    let done = state
        .admin
        .reassign(&d.username, &req.from, &req.to, &req.customers)
        .await?;
    Ok(Json(ReassignResponse {
        reassigned: done.customers.len(),
    })
    .into_response())
}
