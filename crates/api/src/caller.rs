//! Who is calling: the `Authorization: Bearer` token names a user; no header is the public. The public's writes
//! and lookups are rate-limited per client address.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use hifazat_access::{AuthError, Caller};
use hifazat_limits as limits;

use crate::AppState;
use crate::error::ApiError;

/// The caller of a request.
#[derive(Debug, Clone)]
pub struct Who {
    pub caller: Caller,
    /// The client's address (unspecified when the router runs without a socket, as in tests).
    pub client: IpAddr,
}

impl FromRequestParts<AppState> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Who, ApiError> {
        let header = match parts.headers.get(axum::http::header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| {
                ApiError::Unauthenticated("the Authorization header is not text".into())
            })?),
        };
        let caller = state.users.caller(header).map_err(|e| match e {
            AuthError::Malformed | AuthError::Unknown => ApiError::Unauthenticated(e.to_string()),
        })?;
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(Who { caller, client })
    }
}

impl Who {
    /// Counts one public request against this client's allowance; officials are not limited here.
    pub fn public_request(&self, limiter: &RateLimiter) -> Result<(), ApiError> {
        if self.caller != Caller::Public {
            return Ok(());
        }
        limiter.take(self.client).map_err(|seconds| {
            limiter.refused.fetch_add(1, Ordering::Relaxed);
            ApiError::RateLimited(seconds)
        })
    }

    /// The caller must be a user: the public gets 401, which says a token is needed.
    pub fn official(&self) -> Result<(), ApiError> {
        match self.caller {
            Caller::Public => Err(ApiError::Unauthenticated(
                "this needs an official's token: `Authorization: Bearer <token>`".into(),
            )),
            Caller::User { .. } => Ok(()),
        }
    }
}

/// A token bucket per client address: `burst` requests at once, refilled at `per_minute` a minute. Keeps at most
/// `RATE_CLIENTS_MAX` addresses; when full, it forgets those whose buckets are full again.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    refused: AtomicU64,
}

impl RateLimiter {
    pub fn new(burst: u32, per_minute: u32) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::default(),
            refused: AtomicU64::new(0),
        }
    }

    /// Requests refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Takes one request's token, or says in how many seconds one will be there.
    pub fn take(&self, client: IpAddr) -> Result<(), u64> {
        let (burst, per_second) = (self.burst, self.per_second);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= limits::RATE_CLIENTS_MAX && !buckets.contains_key(&client) {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < burst
            });
            if buckets.len() >= limits::RATE_CLIENTS_MAX {
                return Err(60);
            }
        }
        let (tokens, at) = buckets.entry(client).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_second).ceil() as u64)
        }
    }
}

/// Wrong tracking codes per client address: `TRACKING_WRONG_MAX` within `TRACKING_LOCK_SECS` lock the address out of
/// every lookup and message by tracking code until that time has passed since its first wrong try. Officials are
/// not counted. Keeps at most `RATE_CLIENTS_MAX` addresses, forgetting those whose time has passed.
#[derive(Debug, Default)]
pub struct Lockout {
    wrong: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Lockout {
    fn window() -> std::time::Duration {
        std::time::Duration::from_secs(limits::TRACKING_LOCK_SECS)
    }

    /// Whether `who` may try a code now; when not, in how many seconds.
    pub fn check(&self, who: &Who) -> Result<(), ApiError> {
        if who.caller != Caller::Public {
            return Ok(());
        }
        let wrong = self.wrong.lock().unwrap_or_else(|e| e.into_inner());
        match wrong.get(&who.client) {
            Some((n, since))
                if *n >= limits::TRACKING_WRONG_MAX && since.elapsed() < Self::window() =>
            {
                let left = Self::window()
                    .saturating_sub(since.elapsed())
                    .as_secs()
                    .max(1);
                Err(ApiError::RateLimited(left))
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong code (malformed, or no case has it) from `who`.
    pub fn wrong(&self, who: &Who) {
        if who.caller != Caller::Public {
            return;
        }
        let mut wrong = self.wrong.lock().unwrap_or_else(|e| e.into_inner());
        if wrong.len() >= limits::RATE_CLIENTS_MAX && !wrong.contains_key(&who.client) {
            wrong.retain(|_, (_, since)| since.elapsed() < Self::window());
            if wrong.len() >= limits::RATE_CLIENTS_MAX {
                return;
            }
        }
        let entry = wrong.entry(who.client).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= Self::window() {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}
