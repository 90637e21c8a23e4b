//! The HTTP edge: routes, authentication, protocol version, body limits and
//! `{code, message}` errors. Handlers only translate; the rules are in
//! `crate::sync` and `crate::admin`.

use crate::admin::{Admin, AdminError};
use crate::auth::{limiter_key, new_token, token_hash, verify_password};
use crate::storage::{DeviceAuth, Storage, StorageError};
use crate::sync::{self, storage_error, Clock};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lighttouch_protocol::{
    codes, paths, ApiError, LoginRequest, LoginResponse, MeResponse, PullRequest, PushRequest,
    ReassignRequest, ReassignResponse, ReregisterRequest, Role, MAX_BODY_BYTES, MAX_USERNAME_CHARS,
    OLDEST_SUPPORTED_PROTOCOL, PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// Longest password the server hashes (argon2 reads all of it).
const MAX_PASSWORD_BYTES: usize = 1024;
/// How long a sign-in waits for a free password check before `busy`.
const PASSWORD_QUEUE_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    pub admin: Arc<Admin>,
    /// Password checks at once: each takes about 19 MiB and a core's time,
    /// so a burst of sign-ins queues instead of exhausting the server.
    pub password_checks: Arc<Semaphore>,
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        AppState {
            admin: Arc::new(Admin::new(storage.clone(), clock.clone())),
            storage,
            clock,
            password_checks: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4)),
            )),
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
            codes::DEVICE_DIVERGED => StatusCode::CONFLICT,
            codes::UNSUPPORTED_PROTOCOL => StatusCode::BAD_REQUEST,
            codes::BUSY => StatusCode::SERVICE_UNAVAILABLE,
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
        let retry = self.1.retry_after_secs;
        let mut response = (self.0, Json(self.1)).into_response();
        if let Some(secs) = retry {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A request body, whose problems (too large, cut off) answer as
/// `{code, message}` like every other error.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                let status = e.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    codes::TOO_LARGE
                } else {
                    codes::INVALID
                };
                Failure::new(
                    status,
                    code,
                    format!("{} (at most {MAX_BODY_BYTES} bytes)", e.body_text()),
                )
            })
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
        // A newer client than this server: nothing it sends can be read safely.
        Some(v) if v > PROTOCOL_VERSION => Failure::new(
            StatusCode::BAD_REQUEST,
            codes::UNSUPPORTED_PROTOCOL,
            format!(
                "this server speaks sync protocol {PROTOCOL_VERSION} and the app speaks {v}: \
                 the server needs updating"
            ),
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
        .route(paths::REREGISTER, post(reregister))
        .route(paths::ADMIN_DEVICES, get(admin_devices))
        .route(paths::ADMIN_REASSIGN, post(admin_reassign))
        .fallback(|| async {
            Failure::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "no such endpoint")
        })
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
    RawBody(bytes): RawBody,
) -> Result<Json<LoginResponse>, Failure> {
    let req: LoginRequest = body(bytes).await?;
    let username = req.username.trim();
    if username.is_empty() || username.chars().nth(MAX_USERNAME_CHARS).is_some() {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID,
            format!("a username has 1 to {MAX_USERNAME_CHARS} characters"),
        ));
    }
    if req.password.len() > MAX_PASSWORD_BYTES {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID,
            format!("a password has at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    // Counted before the password is checked, so parallel guesses are
    // counted too; a good password takes the count back below.
    let account = limiter_key('a', username);
    let address = limiter_key('i', &peer);
    if let Err(wait) = state
        .storage
        .begin_login_attempt(&[account.clone(), address.clone()], state.clock.now())
        .await?
    {
        let secs = wait.as_secs().max(1);
        return Err(Failure(
            StatusCode::TOO_MANY_REQUESTS,
            ApiError {
                retry_after_secs: Some(secs),
                ..ApiError::new(
                    codes::RATE_LIMITED,
                    format!("too many failed sign-ins; try again in {secs} s"),
                )
            },
        ));
    }
    let user = state.storage.user(username).await?;
    // Verify even for an unknown user, so timing does not tell which names exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(dummy_hash);
    let permit = tokio::time::timeout(
        PASSWORD_QUEUE_WAIT,
        state.password_checks.clone().acquire_owned(),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or_else(|| {
        Failure(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiError {
                retry_after_secs: Some(5),
                ..ApiError::new(
                    codes::BUSY,
                    "the server is busy; try again in a few seconds",
                )
            },
        )
    })?;
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    drop(permit);
    let Some(user) = user.filter(|_| ok) else {
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "wrong username or password",
        ));
    };
    state.storage.finish_good_login(&account, &address).await?;
    let device_name = shown_device_name(&req.device_name);
    let token = new_token();
    let device_id = state
        .storage
        .register_device(
            req.device_id,
            Uuid::now_v7(),
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
            &serde_json::json!({"device": device_id, "asked_for": req.device_id, "name": device_name, "from": peer}),
            state.clock.now(),
        )
        .await;
    Ok(Json(LoginResponse {
        token,
        device_id: Some(device_id),
        user: user.info(),
        server_time: state.clock.now(),
        cursor: None,
    }))
}

/// A book restored from a backup or copied continues as a new device of the
/// same person, signed in with the token it has.
async fn reregister(
    State(state): State<AppState>,
    Device(d): Device,
    RawBody(bytes): RawBody,
) -> Result<Json<LoginResponse>, Failure> {
    let req: ReregisterRequest = body(bytes).await?;
    let name = shown_device_name(&req.device_name);
    let token = new_token();
    let cursor = crate::sync::reregister(
        state.storage.as_ref(),
        &d,
        &req,
        &name,
        &token_hash(&token),
        state.clock.now(),
    )
    .await?;
    let _ = state
        .storage
        .audit(
            &d.username,
            "device.reregister",
            &serde_json::json!({"from": d.device_id, "to": req.device_id, "name": name}),
            state.clock.now(),
        )
        .await;
    Ok(Json(LoginResponse {
        token,
        device_id: Some(req.device_id),
        user: d.user_info(),
        server_time: state.clock.now(),
        cursor,
    }))
}

/// A device's name as the device list shows it: trimmed, at most 100 characters.
fn shown_device_name(raw: &str) -> String {
    raw.trim().chars().take(100).collect()
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
        state.storage.end_session(&token_hash(token.trim())).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, Device(d): Device) -> Json<MeResponse> {
    Json(MeResponse {
        device_id: d.device_id,
        user: d.user_info(),
        server_time: state.clock.now(),
    })
}

async fn push(
    State(state): State<AppState>,
    Device(d): Device,
    RawBody(bytes): RawBody,
) -> Result<Response, Failure> {
    let req: PushRequest = body(bytes).await?;
    let resp = sync::push(state.storage.as_ref(), &d, &req, state.clock.now()).await?;
    Ok(Json(resp).into_response())
}

async fn pull(
    State(state): State<AppState>,
    Device(d): Device,
    RawBody(bytes): RawBody,
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
    RawBody(bytes): RawBody,
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
