//! One viewer's cursor into a feed: the frames it is sent, catching up from the API when it fell
//! behind, and its heartbeat.

use std::{collections::VecDeque, sync::Arc};

use bytes::Bytes;
use domain::{
    error::AppError,
    sse::{EVENT, LinkState},
};
use tokio::sync::{broadcast, watch};

use crate::{streams::sse, support::meters};

use super::*;

/// One viewer's cursor into a feed.
pub(super) struct Viewer {
    pub(super) hub: Arc<Hub>,
    pub(super) _ticket: Ticket,
    /// Counted in the viewers' gauge while it lives.
    pub(super) _watching: meters::Held,
    /// The frames-sent counter, looked up once: the hot path only adds to it.
    pub(super) sent: metrics::Counter,
    pub(super) feed: Arc<Feed>,
    pub(super) rx: broadcast::Receiver<Frame>,
    pub(super) backlog: VecDeque<Bytes>,
    /// The last sequence number this viewer was sent.
    pub(super) last: u64,
    pub(super) heartbeat: tokio::time::Interval,
    pub(super) done: bool,
    pub(super) closing: watch::Receiver<bool>,
}

impl Viewer {
    pub(super) async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.backlog.pop_front() {
                return Some(frame);
            }
            if self.done {
                return None;
            }
            let frame = tokio::select! {
                frame = self.rx.recv() => frame,
                _ = self.heartbeat.tick() => return Some(sse::PING.clone()),
                _ = self.closing.wait_for(|closing| *closing) => return None,
            };
            let frame = match frame {
                Ok(frame) => frame,
                Err(broadcast::error::RecvError::Lagged(dropped)) => {
                    metrics::counter!(meters::HUB_FRAMES_DROPPED).increment(dropped);
                    self.catch_up().await;
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let frames = match &frame {
                Frame::Batch(frames) => frames.as_slice(),
                single => std::slice::from_ref(single),
            };
            let mut out = Out::default();
            for frame in frames {
                match self.step(frame) {
                    Step::Send(bytes) => out.push(bytes),
                    Step::Skip => {}
                    // A gap: what is missing (a batch's later events too) comes from the log.
                    Step::Gap => {
                        self.catch_up().await;
                        if self.done {
                            break;
                        }
                    }
                }
            }
            if let Some(bytes) = out.finish() {
                return Some(bytes);
            }
        }
    }

    /// What `frame` is to this viewer, given what it was sent already.
    pub(super) fn step<'a>(&mut self, frame: &'a Frame) -> Step<'a> {
        match frame {
            Frame::Event { seq, bytes } if *seq == self.last + 1 => {
                self.last = *seq;
                Step::Send(bytes)
            }
            Frame::Event { seq, .. } if *seq <= self.last => Step::Skip,
            Frame::Event { .. } => Step::Gap,
            Frame::Transient(bytes) => Step::Send(bytes),
            Frame::End(bytes) => {
                self.done = true;
                Step::Send(bytes)
            }
            // Batches are not nested.
            Frame::Batch(_) => Step::Skip,
        }
    }

    /// Queues every event after `last` that the viewer missed: from the log, or from the API
    /// for those older than the log. Events listed again keep the numbers the log gave them
    /// (found by their keys), whatever their position in the listing: the API lists by
    /// `processed_at`, which need not be the order the stream delivered them in.
    pub(super) async fn catch_up(&mut self) {
        let first_seq = self.feed.state.lock().expect("feed lock").first_seq;
        let from = if self.last + 1 < first_seq { "api" } else { "log" };
        metrics::counter!(meters::HUB_CATCH_UPS, "from" => from).increment(1);
        if self.last + 1 < first_seq {
            // A whole history read from the API per viewer: a few at a time.
            let hub = self.hub.clone();
            let Ok(_turn) = hub.catch_ups.acquire().await else {
                return self.fail("The server is shutting down; reload the page.");
            };
            let listed = match self.hub.list_all(&self.feed).await {
                Ok(events) => events.into_iter().map(|event| (event_key(&event), event)).collect::<Vec<_>>(),
                Err(error) => {
                    let error = AppError::upstream("Reading the session's earlier events", error);
                    return self.fail(&error.message);
                }
            };
            // The log may have moved on while the API was read: take what it no longer holds.
            let (first_seq, mut missed) = {
                let state = self.feed.state.lock().expect("feed lock");
                let missed = listed
                    .into_iter()
                    .filter_map(|(key, event)| Some((*state.seqs.get(&key)?, event)))
                    .filter(|(seq, _)| *seq > self.last && *seq < state.first_seq)
                    .collect::<Vec<_>>();
                (state.first_seq, missed)
            };
            missed.sort_by_key(|(seq, _)| *seq);
            for (seq, event) in missed {
                if seq != self.last + 1 {
                    break;
                }
                self.backlog.push_back(sse::render(Some(seq), EVENT, &event.to_string()));
                self.last = seq;
            }
            if self.last + 1 < first_seq {
                return self.fail("The API no longer lists every event this page is missing; reload the page.");
            }
        }
        let state = self.feed.state.lock().expect("feed lock");
        let skip = (self.last + 1).saturating_sub(state.first_seq) as usize;
        self.backlog.extend(state.log.iter().skip(skip).cloned());
        self.last = state.next_seq() - 1;
        // Frames still in the channel are skipped by their sequence numbers.
    }

    /// Ends this viewer's stream with a `failed` status; the page stops reconnecting.
    pub(super) fn fail(&mut self, message: &str) {
        self.backlog.push_back(sse::status(LinkState::Failed, Some(message)));
        self.done = true;
    }
}

/// What a viewer does with one frame.
pub(super) enum Step<'a> {
    Send(&'a Bytes),
    /// Sent already.
    Skip,
    /// Events are missing before this one.
    Gap,
}

/// The bytes of one write to a viewer: a single frame as it is (shared, not copied), several
/// joined.
#[derive(Default)]
pub(super) struct Out {
    pub(super) first: Option<Bytes>,
    pub(super) joined: Option<bytes::BytesMut>,
}

impl Out {
    pub(super) fn push(&mut self, bytes: &Bytes) {
        match (&self.first, &mut self.joined) {
            (None, _) => self.first = Some(bytes.clone()),
            (Some(first), None) => {
                let mut joined = bytes::BytesMut::from(&first[..]);
                joined.extend_from_slice(bytes);
                self.joined = Some(joined);
            }
            (Some(_), Some(joined)) => joined.extend_from_slice(bytes),
        }
    }

    pub(super) fn finish(self) -> Option<Bytes> {
        self.joined.map(bytes::BytesMut::freeze).or(self.first)
    }
}
