//! The deployment scheduler: one task that sleeps until the next cron time any active deployment
//! has (`deployments.next_fire_us`), fires every deployment due, and moves each to its next time.
//!
//! - A fire is recorded once per (deployment, cron time): its run is unique on that pair and a
//!   successful fire writes its session in the run's transaction, so a restart never fires a
//!   time twice.
//! - Times missed while the engine was down: when it starts, each deployment whose next time has
//!   passed fires once, for the latest time missed; the earlier missed times are skipped (no run
//!   is recorded for them). A deployment never gets a burst of catch-up sessions.
//! - A round fires in batches: each fire is checked and built in memory (an agent version, an
//!   environment or a vault that several fires share is read once per round), then up to
//!   [`FIRES_PER_TRANSACTION`] are written in one transaction of multi-row INSERTs: runs,
//!   sessions and next times together. Fire by fire, each with its own reads and commits, 1,000
//!   fires due at once took about a second (SQLite writes one transaction at a time).
//! - The sessions they create start (get their initial events, begin their turns) only once
//!   every fire of the round is recorded, so that 1,000 turns starting do not hold up the
//!   1,000th record.
//! - A round in which a fire failed sleeps a second before the next, so a fire that keeps
//!   failing is retried each second, not in a busy loop.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use futures::StreamExt;
use tokio::sync::Notify;

use crate::{
    EngineState,
    domain::{
        deployments::{PreparedFire, Trigger, cron, params_of},
        sessions::Checked,
    },
    error::ApiResult,
    ids::now,
    store::{deployments::Due, from_json, json},
};

/// Fires written per transaction.
const FIRES_PER_TRANSACTION: usize = 250;
/// Sessions of a round started at once.
const CONCURRENT_STARTS: usize = 32;
/// Due deployments read per round.
const BATCH: i64 = 2000;
/// Longest sleep between looks at the table (a schedule change wakes it sooner).
const LONGEST_SLEEP: Duration = Duration::from_secs(30);

/// Starts the scheduler; it stops when the engine is dropped.
pub fn start(state: &Arc<EngineState>) {
    let weak = Arc::downgrade(state);
    let wake = state.scheduler.clone();
    tokio::spawn(async move { run(weak, wake).await });
}

async fn run(weak: Weak<EngineState>, wake: Arc<Notify>) {
    loop {
        let Some(state) = weak.upgrade() else { return };
        let sleep = match round(&state).await {
            Ok(sleep) => sleep,
            Err(error) => {
                tracing::error!("deployment scheduler: {}", error.message);
                Duration::from_secs(1)
            }
        };
        if sleep.is_zero() {
            continue;
        }
        drop(state);
        // A change made since the round began has stored a permit: `notified` returns at once.
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = wake.notified() => {}
        }
    }
}

/// Fires what is due; says how long to sleep before the next time (zero: more are due).
async fn round(state: &Arc<EngineState>) -> ApiResult<Duration> {
    let due = state.store.deployments_due(now().micros, BATCH).await?;
    if !due.is_empty() {
        let full = due.len() as i64 == BATCH;
        let mut checked = Checked::default();
        let mut starts = Vec::new();
        let mut failed = false;
        for part in due.chunks(FIRES_PER_TRANSACTION) {
            let mut fires = Vec::with_capacity(part.len());
            for Due { id, next_fire_us, body } in part {
                match prepare(state, *next_fire_us, body, &mut checked).await {
                    Ok(Some(fire)) => fires.push(fire),
                    Ok(None) => {}
                    Err(error) => {
                        failed = true;
                        tracing::error!("deployment {id}: its scheduled fire failed: {}", error.message);
                    }
                }
            }
            match state.write_fires(fires).await {
                Ok(written) => starts.extend(written.into_iter().filter_map(|(_, start)| start)),
                Err(error) => {
                    failed = true;
                    tracing::error!("deployment scheduler: {} fires not written: {}", part.len(), error.message);
                }
            }
        }
        futures::stream::iter(starts)
            .for_each_concurrent(CONCURRENT_STARTS, |start| async move {
                let id = start.session_id.clone();
                if let Err(error) = state.start_session(start).await {
                    tracing::error!("session {id} of a scheduled fire did not start: {}", error.message);
                }
            })
            .await;
        if failed {
            return Ok(Duration::from_secs(1));
        }
        if full {
            return Ok(Duration::ZERO);
        }
    }
    let next = state.store.next_deployment_fire().await?;
    let now = now().micros;
    Ok(match next {
        Some(next) if next <= now => Duration::ZERO,
        Some(next) => Duration::from_micros((next - now) as u64).min(LONGEST_SLEEP),
        None => LONGEST_SLEEP,
    })
}

/// Checks and builds the fire of one due deployment, for its latest due time.
async fn prepare(state: &EngineState, due: i64, body: &str, checked: &mut Checked) -> ApiResult<Option<PreparedFire>> {
    let deployment: protocol::deployments::Deployment = from_json(json(body)?)?;
    let Some(schedule) = &deployment.schedule else { return Ok(None) };
    let fired = cron(&params_of(schedule))?.latest_due(due, now().micros);
    Ok(Some(state.prepare_fire(&deployment, Trigger::Schedule { due, fired }, checked).await?))
}
