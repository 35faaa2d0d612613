//! Outcomes a client defines (`user.define_outcome`): checked, echoed with their `outcome_id`,
//! and entered in the session's `outcome_evaluations`. The runtime works toward them
//! (`runtime::outcomes`).

use protocol::{
    event_params::{Rubric, UserDefineOutcomeParams},
    events::SessionEvent,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    EngineState, emitted,
    error::{ApiError, ApiResult},
    ids::new_id,
};

/// The longest rubric, in characters.
pub const MAX_RUBRIC_CHARS: usize = 262_144;
/// Iterations when `max_iterations` is not given, and the most it may be.
pub const DEFAULT_ITERATIONS: u32 = 3;
pub const MAX_ITERATIONS: u32 = 20;

/// The outcome a session works toward; saved with the runtime's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutcomeRun {
    pub outcome_id: String,
    pub description: String,
    /// The iteration under way (0-based).
    pub iteration: u32,
    pub max_iterations: u32,
    /// The acknowledgement turn after `max_iterations_reached` is playing: no more grading.
    #[serde(default)]
    pub final_turn: bool,
}

/// A new outcome's entry in `outcome_evaluations`: pending, iteration 0.
pub fn evaluation(outcome_id: &str, description: &str) -> Value {
    json!({
        "type": "outcome_evaluation",
        "outcome_id": outcome_id,
        "description": description,
        "iteration": 0,
        "result": "pending",
        "explanation": null,
        "completed_at": null,
    })
}

/// A checked outcome: its rubric as text (a file rubric is read, as the API echoes it).
pub struct CheckedOutcome {
    description: String,
    rubric: String,
    max_iterations: u32,
}

impl EngineState {
    /// Checks an outcome (`at` names it in errors) before anything of its request is applied.
    pub async fn check_outcome(&self, params: &UserDefineOutcomeParams, at: &str) -> ApiResult<CheckedOutcome> {
        if params.description.trim().is_empty() {
            return Err(ApiError::invalid(format!("{at}.description: say what the agent should produce.")));
        }
        let max_iterations = params.max_iterations.unwrap_or(DEFAULT_ITERATIONS);
        if !(1..=MAX_ITERATIONS).contains(&max_iterations) {
            return Err(ApiError::invalid(format!(
                "{at}.max_iterations: {max_iterations} is out of range; use 1 to {MAX_ITERATIONS}."
            )));
        }
        let rubric = match &params.rubric {
            Rubric::Text(text) => text.content.clone(),
            Rubric::File(file) => {
                self.file(&file.file_id).await.map_err(|_| {
                    ApiError::invalid(format!(
                        "{at}.rubric.file_id: file {:?} was not found; upload it first.",
                        file.file_id
                    ))
                })?;
                let bytes = tokio::fs::read(self.file_path(&file.file_id)).await.map_err(ApiError::internal)?;
                String::from_utf8(bytes).map_err(|_| {
                    ApiError::invalid(format!(
                        "{at}.rubric.file_id: the rubric file must be text (UTF-8), such as Markdown."
                    ))
                })?
            }
            Rubric::Unknown(value) => {
                return Err(ApiError::invalid(format!("{at}.rubric.type: unknown rubric {value}; use text or file.")));
            }
        };
        if rubric.trim().is_empty() {
            return Err(ApiError::invalid(format!("{at}.rubric: the rubric is empty; say how the result is judged.")));
        }
        if rubric.chars().count() > MAX_RUBRIC_CHARS {
            return Err(ApiError::invalid(format!("{at}.rubric: at most {MAX_RUBRIC_CHARS} characters.")));
        }
        Ok(CheckedOutcome { description: params.description.clone(), rubric, max_iterations })
    }

    /// Appends the outcome's echo (with its new `outcome_id`, the rubric as text) and enters it in
    /// the session's `outcome_evaluations` as pending. Returns the echo and what the runtime
    /// works toward.
    pub async fn define_outcome(
        &self,
        session_id: &str,
        outcome: CheckedOutcome,
    ) -> ApiResult<(SessionEvent, OutcomeRun)> {
        let outcome_id = new_id("outc");
        let echo = emitted::define_outcome(&outcome_id, &outcome.description, &outcome.rubric, outcome.max_iterations);
        let echo = self.append_event(session_id, None, true, echo).await?;
        self.store.add_outcome_evaluation(session_id, &evaluation(&outcome_id, &outcome.description)).await?;
        let run = OutcomeRun {
            outcome_id,
            description: outcome.description,
            iteration: 0,
            max_iterations: outcome.max_iterations,
            final_turn: false,
        };
        Ok((echo, run))
    }
}
